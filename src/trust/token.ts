/**
 * Capability tokens. A token is signed by its issuer over
 * `vigo/token/v1` ‖ 0x00 ‖ JCS(token without sig); its id is sha256 of that JCS text.
 * A chain runs from the founder's bootstrap token (root) to the presenter's token (leaf).
 */
import { randomBytes } from 'node:crypto';
import { TrustError } from './errors.js';
import { preview, toHex, type Hex } from './hex.js';
import { pubkeyHex, type Signer } from './keys.js';
import { projectId, isValidHandle } from './names.js';
import { messageFromCanonical } from './domain.js';
import { sha256Hex } from './canonical.js';
import { exactObject, hex64, hex64OrNull, literal, malformed, NONCE_HEX, sigHex, uint, uintOrNull } from './schema.js';

export type Role = 'admin' | 'member';

export interface Token {
  v: 1;
  kind: 'token';
  project_id: Hex;
  handle: string;
  parent: Hex | null;
  issuer: Hex;
  subject: Hex;
  role: Role;
  issued_at: number;
  expires_at: number | null;
  nonce: Hex;
  sig: Hex;
}

export type TokenChain = Token[];

/** Longest chain any verifier accepts (root + 15 hops): bounds work and header size. */
export const MAX_CHAIN_LEN = 16;

const TOKEN_KEYS = ['v', 'kind', 'project_id', 'handle', 'parent', 'issuer', 'subject', 'role', 'issued_at', 'expires_at', 'nonce', 'sig'] as const;

/**
 * Checks every field of an untrusted token and returns a fresh, typed copy.
 * After this, every string field is hex, a role or a valid handle, so the canonical
 * text can be written without escaping (see tokenCanonical).
 */
export function checkToken(v: unknown, path = 'token'): Token {
  const o = exactObject(v, path, TOKEN_KEYS);
  const handle = o.handle;
  if (!isValidHandle(handle)) malformed(`${path}.handle`, `not a valid handle: ${preview(handle)}`);
  const role = o.role;
  if (role !== 'admin' && role !== 'member') malformed(`${path}.role`, `expected "admin" or "member", got ${preview(role)}`);
  const nonce = o.nonce;
  if (typeof nonce !== 'string' || !NONCE_HEX.test(nonce)) malformed(`${path}.nonce`, `expected 32 lowercase hex characters, got ${preview(nonce)}`);
  return {
    v: literal(o.v, path, 1, 'v'),
    kind: literal(o.kind, path, 'token', 'kind'),
    project_id: hex64(o.project_id, path, 'project_id'),
    handle,
    parent: hex64OrNull(o.parent, path, 'parent'),
    issuer: hex64(o.issuer, path, 'issuer'),
    subject: hex64(o.subject, path, 'subject'),
    role,
    issued_at: uint(o.issued_at, path, 'issued_at'),
    expires_at: uintOrNull(o.expires_at, path, 'expires_at'),
    nonce,
    sig: sigHex(o.sig, path, 'sig'),
  };
}

/**
 * RFC 8785 text of a checked token without `sig`: members in code-unit order, no escaping
 * needed because checkToken admits only hex, roles and handle characters. Equal to
 * canonicalize(withoutSig(t)) — a property test holds the two together.
 */
export function tokenCanonical(t: Omit<Token, 'sig'>): string {
  return (
    `{"expires_at":${t.expires_at === null ? 'null' : String(t.expires_at)},"handle":"${t.handle}",` +
    `"issued_at":${String(t.issued_at)},"issuer":"${t.issuer}","kind":"token","nonce":"${t.nonce}",` +
    `"parent":${t.parent === null ? 'null' : `"${t.parent}"`},"project_id":"${t.project_id}","role":"${t.role}",` +
    `"subject":"${t.subject}","v":1}`
  );
}

export function tokenId(t: Token): Hex {
  return sha256Hex(tokenCanonical(checkToken(t)));
}

async function signToken(issuer: Signer, body: Omit<Token, 'sig'>): Promise<Token> {
  const sig = await issuer.sign(messageFromCanonical('token', tokenCanonical(body)));
  const t: Token = { ...body, sig: toHex(sig) };
  checkToken(t); // never hand out an object the verifier would call malformed
  return t;
}

function freshNonce(nonce: Hex | undefined): Hex {
  return nonce ?? randomBytes(16).toString('hex');
}

export interface MintOptions {
  /** 32 lowercase hex; random by default (fixed only in vectors and tests). */
  nonce?: Hex;
}

export interface BootstrapOptions extends MintOptions {
  /**
   * The project a delegated founder mints a root for (ADR-019): after a rekey the project
   * keeps the genesis id, so the new founder's root names it instead of sha256(own key ‖ handle).
   */
  projectId?: Hex;
}

/** The founder's self-issued admin token: the root of every chain in the project. */
export async function mintBootstrapToken(founder: Signer, handle: string, now: number, opts: BootstrapOptions = {}): Promise<Token> {
  const pk = pubkeyHex(founder.publicKey);
  const own = projectId(founder.publicKey, handle);
  return signToken(founder, {
    v: 1,
    kind: 'token',
    project_id: opts.projectId === undefined ? own : hex64(opts.projectId, 'projectId'),
    handle,
    parent: null,
    issuer: pk,
    subject: pk,
    role: 'admin',
    issued_at: uint(now, 'now'),
    expires_at: null,
    nonce: freshNonce(opts.nonce),
  });
}

/**
 * A child of the chain's leaf, signed by the leaf's subject. Refuses what the verifier
 * would refuse: a non-admin issuer, an issuer that is not the leaf's subject, an expiry
 * past the parent's, an expiry already past, or a chain at MAX_CHAIN_LEN.
 */
export async function mintChildToken(
  issuer: Signer,
  parentChain: TokenChain,
  subject: Uint8Array | Hex,
  role: Role,
  now: number,
  expiresAt: number | null,
  opts: MintOptions = {},
): Promise<Token> {
  if (!Array.isArray(parentChain) || parentChain.length === 0) throw new TrustError('E_EMPTY_CHAIN', 'cannot mint a child of an empty chain');
  if (parentChain.length >= MAX_CHAIN_LEN) {
    throw new TrustError('E_CHAIN_TOO_LONG', `the chain is already ${parentChain.length} tokens long (at most ${MAX_CHAIN_LEN})`);
  }
  const leaf = checkToken(parentChain[parentChain.length - 1], `chain[${parentChain.length - 1}]`);
  const issuerHex = pubkeyHex(issuer.publicKey);
  if (leaf.subject !== issuerHex) {
    throw new TrustError('E_ISSUER_NOT_PARENT_SUBJECT', `the signing key ${issuerHex} is not the subject of the chain's leaf token (${leaf.subject})`);
  }
  if (leaf.role !== 'admin') throw new TrustError('E_NOT_ADMIN_MINT', 'only an admin token can mint child tokens; this chain ends in a member token');
  if (role !== 'admin' && role !== 'member') malformed('role', `expected "admin" or "member", got ${preview(role)}`);
  const exp = uintOrNull(expiresAt, 'expires_at');
  uint(now, 'now');
  if (exp !== null && exp <= now) throw new TrustError('E_BAD_EXPIRES', `expiry ${exp} is not after now (${now})`);
  if (leaf.expires_at !== null && (exp === null || exp > leaf.expires_at)) {
    throw new TrustError('E_OUTLIVES_PARENT', `the issuing token expires at ${leaf.expires_at}; a child cannot outlive it`, {
      hint: `pass an expiry no later than the issuer's (at most ${Math.floor((leaf.expires_at - now) / 86400)} days)`,
    });
  }
  return signToken(issuer, {
    v: 1,
    kind: 'token',
    project_id: leaf.project_id,
    handle: leaf.handle,
    parent: tokenId(leaf),
    issuer: issuerHex,
    subject: pubkeyHex(subject),
    role,
    issued_at: now,
    expires_at: exp,
    nonce: freshNonce(opts.nonce),
  });
}
