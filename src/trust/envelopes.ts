/**
 * Revoke and leave envelopes, and name claims: signed statements that travel by gossip.
 * Each is signed over `vigo/<kind>/v1` ‖ 0x00 ‖ JCS(envelope without sig). A revoke
 * carries the signer's own chain and delegations so any receiver can check, with no
 * other state, that the signer is an admin of the project.
 */
import { createHash } from 'node:crypto';
import { TrustError } from './errors.js';
import { preview, toHex, type Hex } from './hex.js';
import { pubkeyHex, verifyHex, type Signer } from './keys.js';
import { canonicalize, hasLoneSurrogate, sha256Hex, withoutSig } from './canonical.js';
import { signingMessage } from './domain.js';
import { validateName } from './names.js';
import { array, exactObject, hex64, hex64OrNull, literal, malformed, sigHex, uint } from './schema.js';
import { checkToken, tokenCanonical, type TokenChain } from './token.js';
import { checkDelegation, type Delegation } from './delegation.js';
import { CLOCK_SKEW_S, verifyChain } from './verify.js';

/** Longest revoke reason, in UTF-16 code units. */
export const MAX_REASON_LEN = 1024;

export interface RevokeEnvelope {
  v: 1;
  kind: 'revoke';
  project_id: Hex;
  token_id: Hex;
  reason: string | null;
  issued_at: number;
  signer: Hex;
  signer_chain: TokenChain;
  signer_delegations: Delegation[];
  sig: Hex;
}

export interface LeaveEnvelope {
  v: 1;
  kind: 'leave';
  project_id: Hex;
  subject: Hex;
  token_id: Hex | null;
  issued_at: number;
  sig: Hex;
}

export interface NameClaim {
  v: 1;
  kind: 'name-claim';
  name: string;
  pubkey: Hex;
  issued_at: number;
  sig: Hex;
}

const REVOKE_KEYS = ['v', 'kind', 'project_id', 'token_id', 'reason', 'issued_at', 'signer', 'signer_chain', 'signer_delegations', 'sig'] as const;
const LEAVE_KEYS = ['v', 'kind', 'project_id', 'subject', 'token_id', 'issued_at', 'sig'] as const;
const NAME_CLAIM_KEYS = ['v', 'kind', 'name', 'pubkey', 'issued_at', 'sig'] as const;

function reasonField(v: unknown, path: string): string | null {
  if (v === null) return null;
  if (typeof v !== 'string') malformed(path, `expected a string or null, got ${preview(v)}`);
  if (v.length > MAX_REASON_LEN) throw new TrustError('E_OVERSIZE', `${path}: ${v.length} characters (at most ${MAX_REASON_LEN})`);
  if (hasLoneSurrogate(v)) malformed(path, 'holds a lone surrogate');
  return v;
}

export function checkRevoke(v: unknown, path = 'revoke'): RevokeEnvelope {
  const o = exactObject(v, path, REVOKE_KEYS);
  return {
    v: literal(o.v, `${path}.v`, 1),
    kind: literal(o.kind, `${path}.kind`, 'revoke'),
    project_id: hex64(o.project_id, `${path}.project_id`),
    token_id: hex64(o.token_id, `${path}.token_id`),
    reason: reasonField(o.reason, `${path}.reason`),
    issued_at: uint(o.issued_at, `${path}.issued_at`),
    signer: hex64(o.signer, `${path}.signer`),
    signer_chain: array(o.signer_chain, `${path}.signer_chain`).map((t, i) => checkToken(t, `${path}.signer_chain[${i}]`)),
    signer_delegations: array(o.signer_delegations, `${path}.signer_delegations`).map((d, i) => checkDelegation(d, `${path}.signer_delegations[${i}]`)),
    sig: sigHex(o.sig, `${path}.sig`),
  };
}

export function checkLeave(v: unknown, path = 'leave'): LeaveEnvelope {
  const o = exactObject(v, path, LEAVE_KEYS);
  return {
    v: literal(o.v, `${path}.v`, 1),
    kind: literal(o.kind, `${path}.kind`, 'leave'),
    project_id: hex64(o.project_id, `${path}.project_id`),
    subject: hex64(o.subject, `${path}.subject`),
    token_id: hex64OrNull(o.token_id, `${path}.token_id`),
    issued_at: uint(o.issued_at, `${path}.issued_at`),
    sig: sigHex(o.sig, `${path}.sig`),
  };
}

export function checkNameClaim(v: unknown, path = 'name-claim'): NameClaim {
  const o = exactObject(v, path, NAME_CLAIM_KEYS);
  const name = o.name;
  try {
    validateName(name as string);
  } catch (e) {
    malformed(`${path}.name`, e instanceof Error ? e.message : String(e));
  }
  return {
    v: literal(o.v, `${path}.v`, 1),
    kind: literal(o.kind, `${path}.kind`, 'name-claim'),
    name: name as string,
    pubkey: hex64(o.pubkey, `${path}.pubkey`),
    issued_at: uint(o.issued_at, `${path}.issued_at`),
    sig: sigHex(o.sig, `${path}.sig`),
  };
}

async function signEnvelope<T extends { kind: string }>(signer: Signer, body: Omit<T, 'sig'> & { kind: string }): Promise<T> {
  const sig = await signer.sign(signingMessage(body.kind, body));
  return { ...body, sig: toHex(sig) } as unknown as T;
}

function checkSignature(kind: string, env: { sig: Hex }, pk: Hex, what: string): void {
  if (!verifyHex(pk, signingMessage(kind, env), env.sig)) fail('E_BAD_SIGNATURE', `${what}: the signature by ${pk} does not verify`);
}

function fail(code: 'E_BAD_SIGNATURE' | 'E_WRONG_PROJECT' | 'E_NOT_YET_VALID' | 'E_NOT_ADMIN' | 'E_REVOKE_ANCESTOR', msg: string): never {
  throw new TrustError(code, msg);
}

/** A revocation of tokenIdHex, signed by the admin whose chain (and the project's delegations) it carries. */
export async function mintRevoke(
  admin: Signer,
  chain: TokenChain,
  delegations: Delegation[],
  tokenIdHex: Hex,
  reason: string | null,
  now: number,
): Promise<RevokeEnvelope> {
  const signerChain = array(chain, 'chain').map((t, i) => checkToken(t, `chain[${i}]`));
  const leaf = signerChain[signerChain.length - 1];
  if (leaf === undefined) throw new TrustError('E_EMPTY_CHAIN', 'a revoke needs the signer’s token chain');
  const signer = pubkeyHex(admin.publicKey);
  if (leaf.subject !== signer) throw new TrustError('E_PRESENTER_MISMATCH', `the chain's leaf grants ${leaf.subject}, not the signing key ${signer}`);
  if (leaf.role !== 'admin') throw new TrustError('E_NOT_ADMIN', 'only an admin can revoke; this chain ends in a member token');
  const body: Omit<RevokeEnvelope, 'sig'> = {
    v: 1,
    kind: 'revoke',
    project_id: leaf.project_id,
    token_id: hex64(tokenIdHex, 'token_id'),
    reason: reasonField(reason, 'reason'),
    issued_at: uint(now, 'now'),
    signer,
    signer_chain: signerChain,
    signer_delegations: array(delegations, 'delegations').map((d, i) => checkDelegation(d, `delegations[${i}]`)),
  };
  return signEnvelope<RevokeEnvelope>(admin, body);
}

/** A departure, signed by the leaving subject; token_id names the token given up, when known. */
export async function mintLeave(subject: Signer, projectIdHex: Hex, tokenIdHex: Hex | null, now: number): Promise<LeaveEnvelope> {
  return signEnvelope<LeaveEnvelope>(subject, {
    v: 1,
    kind: 'leave',
    project_id: hex64(projectIdHex, 'project_id'),
    subject: pubkeyHex(subject.publicKey),
    token_id: hex64OrNull(tokenIdHex, 'token_id'),
    issued_at: uint(now, 'now'),
  });
}

/**
 * Verifies a revoke for this project: shape, project, signature, and that the signer's
 * own chain proves it an admin at the envelope's issued_at (so a revoke stays valid after
 * the signer's token later expires). The signer may not revoke a token above itself in
 * its own chain (E_REVOKE_ANCESTOR) — that would cut off every branch below, the root
 * first of all. Revocations of the signer's chain are the caller's to apply. Pass the
 * receiver's own delegations as `knownDelegations` (see VerifyInput).
 */
export function verifyRevoke(env: unknown, projectIdHex: Hex, now: number, opts: { knownDelegations?: Delegation[] } = {}): RevokeEnvelope {
  const r = checkRevoke(env);
  if (r.project_id !== projectIdHex) fail('E_WRONG_PROJECT', `revoke belongs to project ${r.project_id}, not ${projectIdHex}`);
  if (r.issued_at > now + CLOCK_SKEW_S) fail('E_NOT_YET_VALID', `revoke is dated ${r.issued_at}, in the future (now ${now})`);
  const res = verifyChain({
    projectId: projectIdHex,
    chain: r.signer_chain,
    delegations: r.signer_delegations,
    revoked: new Map(),
    now: r.issued_at,
    presenter: r.signer,
    ...(opts.knownDelegations === undefined ? {} : { knownDelegations: opts.knownDelegations }),
  });
  if (!res.ok) throw new TrustError(res.code, `revoke.signer_chain: ${res.message}`);
  if (res.role !== 'admin') fail('E_NOT_ADMIN', `revoke is signed by ${r.signer}, a member; only admins revoke`);
  for (let i = 0; i < r.signer_chain.length - 1; i++) {
    const id = createHash('sha256').update(tokenCanonical(r.signer_chain[i]!), 'utf8').digest('hex');
    if (id === r.token_id) fail('E_REVOKE_ANCESTOR', `revoke names token ${id}, which is signer_chain[${i}], above the signer's own token`);
  }
  checkSignature('revoke', r, r.signer, 'revoke');
  return r;
}

/** Verifies a leave for this project: shape, project, and the leaving subject's signature. */
export function verifyLeave(env: unknown, projectIdHex: Hex): LeaveEnvelope {
  const l = checkLeave(env);
  if (l.project_id !== projectIdHex) fail('E_WRONG_PROJECT', `leave belongs to project ${l.project_id}, not ${projectIdHex}`);
  checkSignature('leave', l, l.subject, 'leave');
  return l;
}

/** sha256 of the envelope's canonical bytes without sig. */
export function envelopeId(env: RevokeEnvelope | LeaveEnvelope | NameClaim): Hex {
  return sha256Hex(canonicalize(withoutSig(env)));
}

/** A claim of a friendly name by a puddle key (not project-scoped: names are fleet-wide). */
export async function mintNameClaim(signer: Signer, name: string, now: number): Promise<NameClaim> {
  validateName(name);
  return signEnvelope<NameClaim>(signer, { v: 1, kind: 'name-claim', name, pubkey: pubkeyHex(signer.publicKey), issued_at: uint(now, 'now') });
}

export function verifyNameClaim(v: unknown): NameClaim {
  const c = checkNameClaim(v);
  checkSignature('name-claim', c, c.pubkey, 'name-claim');
  return c;
}
