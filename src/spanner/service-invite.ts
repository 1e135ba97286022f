/**
 * The invite bundle and the join request (docs/spanner.md "Invites and joining").
 *
 * A bundle is `vgsi1_` + base64url(JCS(invite)), the invite signed by the inviting bolt
 * (kind `spanner-invite`): spanner_id, inviter pubkey, its peer address, the SHA-256 of its
 * CA (the joiner pins the inviter's TLS with it), a random 32-byte token and the expiry.
 * The token is the secret: whoever holds the bundle may join once. The inviter keeps no
 * record of minted invites; it accepts only bundles it signed itself, unexpired, whose
 * token hash is not in the roster's grow-only consumed set, and consumes it in the same
 * merge that admits the joiner.
 *
 * The joiner proves it holds the key it asks to have admitted: the join request carries a
 * signature (kind `spanner-join`) by that key over the token hash, the inviter and the
 * joiner's row fields.
 */
import { VigoError } from '../platform/errors.js';
import { canonicalize, fromHex, sha256Hex, signingMessage, toHex, verifyRaw, type Hex, type Signer } from '../trust/index.js';
import { parseRosterRow, type AdmitFields } from '../wire/spanner-roster.js';

export const INVITE_KIND = 'spanner-invite';
export const JOIN_KIND = 'spanner-join';
export const BUNDLE_PREFIX = 'vgsi1_';
/** a bundle is a few hundred bytes; anything past this is not one */
export const MAX_BUNDLE_LEN = 4096;

export interface Invite {
  v: 1;
  kind: typeof INVITE_KIND;
  spanner_id: string;
  inviter: Hex;
  peer_addr: string;
  ca_sha256: Hex;
  token: Hex;
  expires_at: number;
  sig: Hex;
}

const INVITE_KEYS = ['v', 'kind', 'spanner_id', 'inviter', 'peer_addr', 'ca_sha256', 'token', 'expires_at', 'sig'] as const;

export async function mintInvite(signer: Signer, f: Omit<Invite, 'v' | 'kind' | 'inviter' | 'sig'>): Promise<{ invite: Invite; bundle: string }> {
  const body = { v: 1 as const, kind: INVITE_KIND as typeof INVITE_KIND, spanner_id: f.spanner_id, inviter: toHex(signer.publicKey), peer_addr: f.peer_addr, ca_sha256: f.ca_sha256, token: f.token, expires_at: f.expires_at };
  const invite: Invite = { ...body, sig: toHex(await signer.sign(signingMessage(INVITE_KIND, body))) };
  return { invite, bundle: BUNDLE_PREFIX + Buffer.from(canonicalize(invite), 'utf8').toString('base64url') };
}

function refuse(code: string, message: string, hint = 'ask the inviting bolt\'s operator for a new bundle (`vigocli spanner bolt invite`)'): never {
  throw new VigoError(code, message, { hint });
}

/** Decodes a bundle and checks its shape and its signature under the inviter it names. Expiry and use are the caller's. */
export function parseBundle(text: string): Invite {
  const t = text.trim();
  if (t.length > MAX_BUNDLE_LEN) refuse('E_INVITE_MALFORMED', `invite bundle: ${t.length} characters (at most ${MAX_BUNDLE_LEN})`);
  if (!t.startsWith(BUNDLE_PREFIX)) refuse('E_INVITE_MALFORMED', `invite bundle: does not start with ${BUNDLE_PREFIX}`);
  const b64 = t.slice(BUNDLE_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(b64)) refuse('E_INVITE_MALFORMED', 'invite bundle: not base64url after the prefix');
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(b64, 'base64url').toString('utf8'));
  } catch {
    refuse('E_INVITE_MALFORMED', 'invite bundle: not JSON inside');
  }
  let inv: Invite;
  try {
    const o = exactMembers(v, 'invite', INVITE_KEYS);
    if (o.v !== 1 || o.kind !== INVITE_KIND) throw new Error(`invite: expected v 1 and kind ${INVITE_KIND}`);
    if (typeof o.peer_addr !== 'string' || o.peer_addr.length > 300) throw new Error('invite.peer_addr: expected host:port');
    if (!Number.isSafeInteger(o.expires_at) || (o.expires_at as number) < 0) throw new Error('invite.expires_at: expected unix seconds');
    inv = {
      v: 1,
      kind: INVITE_KIND,
      spanner_id: spannerIdField(o.spanner_id, 'invite.spanner_id'),
      inviter: hex64(o.inviter, 'invite.inviter'),
      peer_addr: o.peer_addr,
      ca_sha256: hex64(o.ca_sha256, 'invite.ca_sha256'),
      token: hex64(o.token, 'invite.token'),
      expires_at: o.expires_at as number,
      sig: hex64Sig(o.sig),
    };
  } catch (e) {
    return refuse('E_INVITE_MALFORMED', `invite bundle: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!verifyRaw(fromHex(inv.inviter), signingMessage(INVITE_KIND, inv), fromHex(inv.sig))) {
    refuse('E_INVITE_SIGNATURE', 'invite bundle: the signature does not verify (altered or forged bundle)');
  }
  return inv;
}

/** The object's members, exactly `keys`: a missing or an unknown member is named. */
function exactMembers(v: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${path}: expected an object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new Error(`${path}.${k}: unknown field`);
  for (const k of keys) if (!(k in o)) throw new Error(`${path}.${k}: missing`);
  return o;
}

function hex64(v: unknown, path: string): Hex {
  if (typeof v !== 'string' || !/^[0-9a-f]{64}$/.test(v)) throw new Error(`${path}: expected 64 lowercase hex characters`);
  return v;
}

function spannerIdField(v: unknown, path: string): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(v)) throw new Error(`${path}: expected a spanner id (1-64 of A-Z a-z 0-9 . _ -)`);
  return v;
}

function hex64Sig(v: unknown): Hex {
  if (typeof v !== 'string' || !/^[0-9a-f]{128}$/.test(v)) throw new Error('invite.sig: expected 128 hex characters');
  return v;
}

export function tokenHash(invite: Invite): Hex {
  return sha256Hex(`vigo/spanner-invite-token/v1\u0000${invite.token}`);
}

/** What the joiner asks to have signed into its admit row (admitted_at is the inviter's). */
export type Joiner = Omit<AdmitFields, 'spanner_id' | 'admitted_at'>;

export interface JoinRequest {
  bundle: string;
  joiner: Joiner;
  proof: Hex;
}

function joinBody(invite: Invite, joiner: Joiner): object {
  return { token_hash: tokenHash(invite), inviter: invite.inviter, joiner };
}

export async function signJoinRequest(signer: Signer, bundle: string, invite: Invite, joiner: Joiner): Promise<JoinRequest> {
  return { bundle, joiner, proof: toHex(await signer.sign(signingMessage(JOIN_KIND, joinBody(invite, joiner)))) };
}

/** Checks the joiner's fields as a row would carry them, and that the proof is by joiner.pubkey. */
export function checkJoinRequest(req: JoinRequest, invite: Invite, spannerId: string): Joiner {
  const j = req.joiner;
  try {
    // the fields go into a row: check them as the row parser will (signature aside)
    parseRosterRow({ v: 1, kind: 'spanner-admit', spanner_id: spannerId, ...j, admitted_at: 0, admitted_by: j?.pubkey, sig: '0'.repeat(128) }, 'joiner');
  } catch (e) {
    refuse('E_JOIN_MALFORMED', e instanceof Error ? e.message : String(e), 'fix the joining bolt\'s server.yaml (spanner.advertise, spanner.patterns, server.hostname)');
  }
  if (typeof req.proof !== 'string' || !/^[0-9a-f]{128}$/.test(req.proof) || !verifyRaw(fromHex(j.pubkey), signingMessage(JOIN_KIND, joinBody(invite, j)), fromHex(req.proof))) {
    refuse('E_JOIN_PROOF', 'join request: the proof does not verify under the joiner\'s pubkey', 'the joining bolt must sign with the key it asks to have admitted');
  }
  return { bolt_id: j.bolt_id, pubkey: j.pubkey, hostname: j.hostname, peer_addr: j.peer_addr, patterns: [...j.patterns], envoy_ca_pem: j.envoy_ca_pem };
}
