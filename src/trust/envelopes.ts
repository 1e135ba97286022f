/**
 * Revoke and leave envelopes, and name claims: signed statements that travel by gossip.
 * Each is signed over `vigo/<kind>/v1` ‖ 0x00 ‖ JCS(envelope without sig). A revoke
 * carries the signer's own chain and delegations so any receiver can check, with no
 * other state, that the signer is an admin of the project.
 */
import { TrustError } from './errors.js';
import { preview, toHex, type Hex } from './hex.js';
import { pubkeyHex, verifyHex, type Signer } from './keys.js';
import { canonicalize, hasLoneSurrogate, sha256Hex, withoutSig } from './canonical.js';
import { signingMessage } from './domain.js';
import { validateName } from './names.js';
import { array, exactObject, hex64, literal, malformed, sigHex, uint } from './schema.js';
import { checkToken, tokenCanonical, type TokenChain } from './token.js';
import { checkDelegation, type Delegation } from './delegation.js';
import { CLOCK_SKEW_S, verifyChain, type VerifyCache } from './verify.js';

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
  /** the token given up: the id of the leaf of subject_chain */
  token_id: Hex;
  issued_at: number;
  /** the leaver's own chain, root first, ending in the token given up (its subject is `subject`) */
  subject_chain: TokenChain;
  subject_delegations: Delegation[];
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
const LEAVE_KEYS = ['v', 'kind', 'project_id', 'subject', 'token_id', 'issued_at', 'subject_chain', 'subject_delegations', 'sig'] as const;
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
    token_id: hex64(o.token_id, `${path}.token_id`),
    issued_at: uint(o.issued_at, `${path}.issued_at`),
    subject_chain: array(o.subject_chain, `${path}.subject_chain`).map((t, i) => checkToken(t, `${path}.subject_chain[${i}]`)),
    subject_delegations: array(o.subject_delegations, `${path}.subject_delegations`).map((d, i) => checkDelegation(d, `${path}.subject_delegations[${i}]`)),
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

function fail(
  code: 'E_BAD_SIGNATURE' | 'E_WRONG_PROJECT' | 'E_NOT_YET_VALID' | 'E_NOT_ADMIN' | 'E_REVOKE_ANCESTOR' | 'E_EMPTY_CHAIN' | 'E_LEAVE_NOT_LEAF' | 'E_LEAVE_ROOT',
  msg: string,
): never {
  throw new TrustError(code, msg);
}

export interface EnvelopeVerifyOptions {
  /** the receiver's own delegation list for the project (see VerifyInput.knownDelegations) */
  knownDelegations?: Delegation[];
  /** saves re-checking the signatures of chains already verified (the envelope's own signature is always checked) */
  cache?: VerifyCache;
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

/**
 * A departure, signed by the leaving subject, carrying its own chain: it gives up the
 * chain's leaf token (and only as a leaf: chains of others through it are unaffected).
 * Refuses a chain that is only the root (E_LEAVE_ROOT: a founder cannot leave its own
 * project) and a chain whose leaf is not the signer's (E_PRESENTER_MISMATCH).
 */
export async function mintLeave(subject: Signer, chain: TokenChain, delegations: Delegation[], now: number): Promise<LeaveEnvelope> {
  const subjectChain = array(chain, 'chain').map((t, i) => checkToken(t, `chain[${i}]`));
  const leaf = subjectChain[subjectChain.length - 1];
  if (leaf === undefined) throw new TrustError('E_EMPTY_CHAIN', 'a leave needs the leaver’s token chain');
  const pk = pubkeyHex(subject.publicKey);
  if (leaf.subject !== pk) throw new TrustError('E_PRESENTER_MISMATCH', `the chain's leaf grants ${leaf.subject}, not the signing key ${pk}`);
  if (subjectChain.length === 1) throw new TrustError('E_LEAVE_ROOT', 'the chain is only the bootstrap token: a founder cannot leave its own project');
  return signEnvelope<LeaveEnvelope>(subject, {
    v: 1,
    kind: 'leave',
    project_id: leaf.project_id,
    subject: pk,
    token_id: tokenIdOf(leaf),
    issued_at: uint(now, 'now'),
    subject_chain: subjectChain,
    subject_delegations: array(delegations, 'delegations').map((d, i) => checkDelegation(d, `delegations[${i}]`)),
  });
}

function tokenIdOf(t: TokenChain[number]): Hex {
  return sha256Hex(tokenCanonical(t));
}

/**
 * Verifies a revoke for this project: shape, project, signature, and that the signer's
 * own chain proves it an admin at the envelope's issued_at (so a revoke stays valid after
 * the signer's token later expires). The signer may not revoke a token above itself in
 * its own chain (E_REVOKE_ANCESTOR) — that would cut off every branch below, the root
 * first of all. Revocations of the signer's chain are the caller's to apply. Pass the
 * receiver's own delegations as `knownDelegations` (see VerifyInput).
 */
export function verifyRevoke(env: unknown, projectIdHex: Hex, now: number, opts: EnvelopeVerifyOptions = {}): RevokeEnvelope {
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
    ...(opts.cache === undefined ? {} : { cache: opts.cache }),
  });
  if (!res.ok) throw new TrustError(res.code, `revoke.signer_chain: ${res.message}`);
  if (res.role !== 'admin') fail('E_NOT_ADMIN', `revoke is signed by ${r.signer}, a member; only admins revoke`);
  for (let i = 0; i < r.signer_chain.length - 1; i++) {
    const id = tokenIdOf(r.signer_chain[i]!);
    if (id === r.token_id) fail('E_REVOKE_ANCESTOR', `revoke names token ${id}, which is signer_chain[${i}], above the signer's own token`);
  }
  checkSignature('revoke', r, r.signer, 'revoke');
  return r;
}

/**
 * Verifies a leave for this project (docs/trust.md, in this order): shape; project; not
 * dated in the future; `token_id` is the id of the leaf of `subject_chain` (E_EMPTY_CHAIN
 * for no chain, E_LEAVE_NOT_LEAF otherwise); the chain is more than the root
 * (E_LEAVE_ROOT); the chain verifies for the project with `subject` as presenter at the
 * leave's issued_at (verifyChain's codes: so only the token's own subject can give it up);
 * the subject's signature. Pass the receiver's delegations as `knownDelegations`.
 */
export function verifyLeave(env: unknown, projectIdHex: Hex, now: number, opts: EnvelopeVerifyOptions = {}): LeaveEnvelope {
  const l = checkLeave(env);
  if (l.project_id !== projectIdHex) fail('E_WRONG_PROJECT', `leave belongs to project ${l.project_id}, not ${projectIdHex}`);
  if (l.issued_at > now + CLOCK_SKEW_S) fail('E_NOT_YET_VALID', `leave is dated ${l.issued_at}, in the future (now ${now})`);
  const leaf = l.subject_chain[l.subject_chain.length - 1];
  if (leaf === undefined) fail('E_EMPTY_CHAIN', 'leave.subject_chain is empty: a leave must carry the leaver’s chain');
  const leafId = tokenIdOf(leaf);
  if (leafId !== l.token_id) fail('E_LEAVE_NOT_LEAF', `leave names token ${l.token_id}, but the leaf of its subject_chain is ${leafId}`);
  if (l.subject_chain.length === 1) fail('E_LEAVE_ROOT', `leave names the bootstrap token ${leafId}: the root is never retired by a leave`);
  const res = verifyChain({
    projectId: projectIdHex,
    chain: l.subject_chain,
    delegations: l.subject_delegations,
    revoked: new Map(),
    now: l.issued_at,
    presenter: l.subject,
    ...(opts.knownDelegations === undefined ? {} : { knownDelegations: opts.knownDelegations }),
    ...(opts.cache === undefined ? {} : { cache: opts.cache }),
  });
  if (!res.ok) throw new TrustError(res.code, `leave.subject_chain: ${res.message}`);
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
