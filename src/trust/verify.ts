/**
 * The chain verifier: the only place an access decision is made. One function, one error
 * code per rule (docs/trust.md lists them in the order they are checked). Cheap
 * structural rules run over the whole input first; signatures are checked last, so
 * malformed or misplaced input costs no Ed25519 work and each signature is checked once.
 */
import { TrustError, type TrustVerifyCode } from './errors.js';
import { preview, type Hex } from './hex.js';
import { pubkeyHex, verifyHex } from './keys.js';
import { projectId as computeProjectId } from './names.js';
import { messageFromCanonical } from './domain.js';
import { sha256Hex } from './canonical.js';
import { array, hex64, isPlainObject, malformed, ownKeyCount, uint } from './schema.js';
import { checkToken, MAX_CHAIN_LEN, tokenCanonical, type Role, type Token, type TokenChain } from './token.js';
import { checkDelegation, delegationCanonical, DELEGATION_MAX_LEN, type Delegation } from './delegation.js';

/** Tolerated clock difference between machines for "issued in the future" (seconds). */
export const CLOCK_SKEW_S = 300;

export interface VerifyInput {
  projectId: Hex;
  chain: TokenChain;
  delegations: Delegation[];
  revoked: ReadonlyMap<Hex, string | null>; // token_id → reason (from verified revoke envelopes)
  /**
   * token_id → the latest issued_at of the standing revokes that name it (resolveRevocations).
   * When given, a revocation dated more than CLOCK_SKEW_S before the token it names does not
   * count: nobody can name a token before it exists, so such a revoke is backdated.
   */
  revokedAt?: ReadonlyMap<Hex, number>;
  /** token_id → reason, from verified LEAVEs: refused only as the chain's leaf (never mid-chain). */
  left?: ReadonlyMap<Hex, string | null>;
  now: number;
  presenter: Hex | Uint8Array;
  tombstoned?: boolean;
  cache?: VerifyCache;
  /**
   * The delegations this verifier already holds for the project (its delegations.json).
   * Pass them whenever there are any: the presented list may extend them (a rekey not yet
   * seen here) or be shorter (the presenter's state is older), but may not contradict
   * them — and a retired founder cannot dodge its window by presenting no delegations.
   */
  knownDelegations?: Delegation[];
}

export type VerifyResult =
  | { ok: true; role: Role; leaf: Token; depth: number; founder: Hex }
  | { ok: false; code: TrustVerifyCode; message: string };

/**
 * Remembers signatures already verified, keyed by signature, together with the exact
 * object they covered and its id. A hit requires every field to match, so a cached entry
 * proves exactly what a fresh verification would; rules about time, revocation and
 * position are re-applied on every call. Bounded: the oldest entries go first.
 */
export class VerifyCache {
  readonly maxEntries: number;
  private readonly tokens = new Map<string, { t: Token; id: Hex }>();
  private readonly delegations = new Map<string, { d: Delegation; id: Hex }>();

  constructor(maxEntries = 4096) {
    this.maxEntries = Math.max(1, Math.floor(maxEntries));
  }

  get size(): number {
    return this.tokens.size + this.delegations.size;
  }

  clear(): void {
    this.tokens.clear();
    this.delegations.clear();
  }

  /**
   * @internal A verified token identical to `raw`: same signature, exactly the token's
   * keys, and every field equal to the checked copy — so `raw` needs no further checks.
   */
  tokenHit(raw: unknown): { t: Token; id: Hex } | undefined {
    if (!isPlainObject(raw) || typeof raw.sig !== 'string') return undefined;
    const e = this.tokens.get(raw.sig);
    if (e === undefined) return undefined;
    const c = e.t;
    return raw.v === 1 && raw.kind === 'token' && raw.project_id === c.project_id && raw.handle === c.handle &&
      raw.parent === c.parent && raw.issuer === c.issuer && raw.subject === c.subject && raw.role === c.role &&
      raw.issued_at === c.issued_at && raw.expires_at === c.expires_at && raw.nonce === c.nonce && ownKeyCount(raw) === 12
      ? e
      : undefined;
  }

  /** @internal */
  addToken(t: Token, id: Hex): void {
    this.evict(this.tokens);
    this.tokens.set(t.sig, { t: Object.freeze(t), id });
  }

  /** @internal */
  delegationHit(raw: unknown): { d: Delegation; id: Hex } | undefined {
    if (!isPlainObject(raw) || typeof raw.sig !== 'string') return undefined;
    const e = this.delegations.get(raw.sig);
    if (e === undefined) return undefined;
    const c = e.d;
    return raw.v === 1 && raw.kind === 'delegation' && raw.project_id === c.project_id && raw.seq === c.seq &&
      raw.prev_founder === c.prev_founder && raw.new_founder === c.new_founder && raw.issued_at === c.issued_at &&
      ownKeyCount(raw) === 8
      ? e
      : undefined;
  }

  /** @internal */
  addDelegation(d: Delegation, id: Hex): void {
    this.evict(this.delegations);
    this.delegations.set(d.sig, { d: Object.freeze(d), id });
  }

  private evict(m: Map<string, unknown>): void {
    if (this.size >= this.maxEntries) {
      const oldest = m.keys().next();
      if (oldest.done !== true) m.delete(oldest.value);
      else this.clear();
    }
  }
}

// sha256(founder ‖ handle) is pure and the same few projects are checked over and over:
// the last pair is compared first (no key string to build), then a bounded memo.
const projectIdMemo = new Map<string, Hex>();
let lastGenesis = { founder: '', handle: '', pid: '' };
function genesisProjectId(founder: Hex, handle: string): Hex {
  if (founder === lastGenesis.founder && handle === lastGenesis.handle) return lastGenesis.pid;
  const k = `${founder}/${handle}`;
  let pid = projectIdMemo.get(k);
  if (pid === undefined) {
    if (projectIdMemo.size >= 1024) projectIdMemo.clear();
    pid = computeProjectId(Buffer.from(founder, 'hex'), handle);
    projectIdMemo.set(k, pid);
  }
  lastGenesis = { founder, handle, pid };
  return pid;
}

function fail(code: TrustVerifyCode, message: string): never {
  throw new TrustError(code, message);
}

/** A founder key and the span of issued_at values it may sign roots at (inclusive). */
interface FounderWindow {
  key: Hex;
  start: number;
  end: number; // Infinity for the current founder
}

/** The window of `key`; with `retired`, only a closed one (a key that handed authority on). */
function windowOf(windows: FounderWindow[], key: Hex, retired: boolean): FounderWindow | undefined {
  for (const w of windows) if (w.key === key && (!retired || w.end !== Infinity)) return w;
  return undefined;
}

/** True only for a real, empty Map: then no id can be in it and none needs computing. */
function emptyMap(m: ReadonlyMap<Hex, unknown> | undefined): boolean {
  return m === undefined || (m instanceof Map && m.size === 0);
}

const CHAIN_PATHS = Array.from({ length: MAX_CHAIN_LEN }, (_, i) => `chain[${i}]`);

/** A signature still to check, and what to remember in the cache once it verifies. */
type Pending =
  | { kind: 'token'; pk: Hex; canonical: string; sig: string; token: Token; id: Hex }
  | { kind: 'delegation'; pk: Hex; canonical: string; sig: string; delegation: Delegation };

function presenterHex(p: unknown): Hex {
  if (p instanceof Uint8Array || typeof p === 'string') {
    try {
      return pubkeyHex(p);
    } catch {
      /* fall through */
    }
  }
  return malformed('presenter', `expected an Ed25519 public key, got ${preview(p)}`);
}

/**
 * Checks the delegation list: binding, order and, last, signatures (the caller runs the
 * returned pending checks). Returns the founders' authority windows, genesis first.
 */
function checkDelegations(raw: unknown[], pid: Hex, now: number, cache: VerifyCache | undefined, pending: Pending[]): { list: Delegation[]; windows: FounderWindow[] } {
  if (raw.length > DELEGATION_MAX_LEN) {
    fail('E_DELEGATION_CAP', `${raw.length} delegations exceed the cap of ${DELEGATION_MAX_LEN}; the founder must re-found the project`);
  }
  if (raw.length === 0) return { list: [], windows: [] }; // most projects were never rekeyed
  const hits = raw.map((d) => cache?.delegationHit(d));
  const list = raw.map((d, i) => hits[i]?.d ?? checkDelegation(d, `delegations[${i}]`));
  const windows: FounderWindow[] = [];
  const seen = new Set<Hex>();
  for (let i = 0; i < list.length; i++) {
    const d = list[i]!;
    const at = `delegations[${i}]`;
    if (d.project_id !== pid) fail('E_WRONG_PROJECT', `${at} belongs to project ${d.project_id}, not ${pid}`);
    if (d.seq !== i + 1) fail('E_DELEGATION_ORDER', `${at} has seq ${d.seq}, expected ${i + 1}`);
    const prev = list[i - 1];
    if (prev !== undefined && d.prev_founder !== prev.new_founder) {
      fail('E_DELEGATION_ORDER', `${at} is signed by ${d.prev_founder}, but the founder after delegation ${i} is ${prev.new_founder}`);
    }
    if (prev !== undefined && d.issued_at < prev.issued_at) fail('E_DELEGATION_ORDER', `${at} is dated before the delegation it follows`);
    if (i === 0) seen.add(d.prev_founder);
    if (seen.has(d.new_founder)) fail('E_DELEGATION_ORDER', `${at} hands authority back to ${d.new_founder}, which was already a founder`);
    seen.add(d.new_founder);
    if (d.issued_at > now + CLOCK_SKEW_S) fail('E_NOT_YET_VALID', `${at} is dated ${d.issued_at}, in the future (now ${now})`);
    windows.push({ key: d.prev_founder, start: prev === undefined ? 0 : prev.issued_at, end: d.issued_at });
    if (hits[i] === undefined) pending.push({ kind: 'delegation', pk: d.prev_founder, canonical: delegationCanonical(d), sig: d.sig, delegation: d });
  }
  const last = list[list.length - 1];
  if (last !== undefined) windows.push({ key: last.new_founder, start: last.issued_at, end: Infinity });
  return { list, windows };
}

function sameDelegation(a: Delegation, b: Delegation): boolean {
  return a.sig === b.sig && a.project_id === b.project_id && a.seq === b.seq && a.prev_founder === b.prev_founder &&
    a.new_founder === b.new_founder && a.issued_at === b.issued_at;
}

/** The longer of the presented and the known list, when one extends the other. */
function reconcileDelegations(presented: unknown[], known: unknown[]): unknown[] {
  if (known.length === 0) return presented;
  if (presented.length > DELEGATION_MAX_LEN || known.length > DELEGATION_MAX_LEN) {
    fail('E_DELEGATION_CAP', `more than ${DELEGATION_MAX_LEN} delegations`);
  }
  const p = presented.map((d, i) => checkDelegation(d, `delegations[${i}]`));
  const k = known.map((d, i) => checkDelegation(d, `knownDelegations[${i}]`));
  for (let i = 0; i < Math.min(p.length, k.length); i++) {
    if (!sameDelegation(p[i]!, k[i]!)) {
      fail('E_DELEGATION_ORDER', `delegations[${i}] differs from the delegation this verifier holds at that position (a forked founder history)`);
    }
  }
  return p.length >= k.length ? presented : known;
}

function optionalMap<V>(v: unknown, path: string): ReadonlyMap<Hex, V> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || typeof (v as Map<Hex, V>).has !== 'function' || typeof (v as Map<Hex, V>).get !== 'function') {
    malformed(path, 'expected a Map keyed by token id');
  }
  return v as ReadonlyMap<Hex, V>;
}

function run(input: VerifyInput): Extract<VerifyResult, { ok: true }> {
  if (!isPlainObject(input as unknown)) malformed('input', 'expected a VerifyInput object');
  const pid = hex64(input.projectId, 'projectId');
  const now = uint(input.now, 'now');
  const presenter = presenterHex(input.presenter);
  const revoked = input.revoked as ReadonlyMap<Hex, string | null> | null | undefined;
  if (typeof revoked !== 'object' || revoked === null || typeof revoked.has !== 'function') {
    malformed('revoked', 'expected a Map of revoked token ids');
  }
  const revokedAt = optionalMap<number>(input.revokedAt, 'revokedAt');
  const left = optionalMap<string | null>(input.left, 'left');
  if (input.tombstoned === true) fail('E_TOMBSTONED', `project ${pid} is tombstoned (re-founded); it accepts no operations`);
  const rawChain = array(input.chain, 'chain');
  if (rawChain.length === 0) fail('E_EMPTY_CHAIN', 'the token chain is empty');
  if (rawChain.length > MAX_CHAIN_LEN) fail('E_CHAIN_TOO_LONG', `the token chain has ${rawChain.length} tokens (at most ${MAX_CHAIN_LEN})`);
  let rawDelegations = array(input.delegations, 'delegations');
  if (input.knownDelegations !== undefined) rawDelegations = reconcileDelegations(rawDelegations, array(input.knownDelegations, 'knownDelegations'));
  const cache = input.cache;
  const pending: Pending[] = [];

  const { list: delegations, windows } = checkDelegations(rawDelegations, pid, now, cache, pending);
  const chain: Token[] = [];
  const ids: Hex[] = [];
  // Every id but the leaf's is a parent link to check. The leaf's is only looked up in
  // `revoked` and `left` and remembered by the cache: with no cache and both maps empty,
  // nothing can match it, so it is not computed ('' then: an empty Map holds no key).
  const leafIdNeeded = cache !== undefined || !emptyMap(revoked) || !emptyMap(left);
  for (let i = 0; i < rawChain.length; i++) {
    const hit = cache?.tokenHit(rawChain[i]);
    if (hit !== undefined) {
      chain.push(hit.t);
      ids.push(hit.id);
      continue;
    }
    const t = checkToken(rawChain[i], CHAIN_PATHS[i]);
    chain.push(t);
    const canonical = tokenCanonical(t);
    const id = leafIdNeeded || i < rawChain.length - 1 ? sha256Hex(canonical) : '';
    ids.push(id);
    pending.push({ kind: 'token', pk: t.issuer, canonical, sig: t.sig, token: t, id });
  }

  // Binding: every token names this project and handle.
  const root = chain[0]!;
  for (let i = 0; i < chain.length; i++) {
    const t = chain[i]!;
    if (t.project_id !== pid) fail('E_WRONG_PROJECT', `chain[${i}] belongs to project ${t.project_id}, not ${pid}`);
    if (t.handle !== root.handle) fail('E_WRONG_PROJECT', `chain[${i}] names handle ${JSON.stringify(t.handle)}, the root names ${JSON.stringify(root.handle)}`);
  }

  // The root: a self-issued admin token of a founder, within that founder's window.
  if (root.parent !== null || root.issuer !== root.subject || root.role !== 'admin') {
    fail('E_ROOT_NOT_BOOTSTRAP', 'chain[0] is not a bootstrap token (parent null, issuer = subject, role admin)');
  }
  const genesis = delegations[0]?.prev_founder ?? root.issuer;
  if (genesisProjectId(genesis, root.handle) !== pid) {
    fail('E_ROOT_NOT_FOUNDER', `sha256(${genesis} ‖ ${JSON.stringify(root.handle)}) is not project ${pid}`);
  }
  if (windows.length === 0) windows.push({ key: genesis, start: 0, end: Infinity });
  const rootWindow = windowOf(windows, root.issuer, false);
  if (rootWindow === undefined) fail('E_ROOT_NOT_FOUNDER', `chain[0] is issued by ${root.issuer}, which was never a founder of this project`);
  if (root.issued_at < rootWindow.start || root.issued_at > rootWindow.end) {
    fail('E_DELEGATION_WINDOW', `chain[0] is dated ${root.issued_at}, outside its founder's authority window [${rootWindow.start}, ${rootWindow.end}]`);
  }

  // Each link: issued by the parent's subject, an admin, never granting more than the parent.
  for (let i = 1; i < chain.length; i++) {
    const t = chain[i]!;
    const parent = chain[i - 1]!;
    const at = `chain[${i}]`;
    if (t.parent !== ids[i - 1]) fail('E_PARENT_MISMATCH', `${at}.parent is ${String(t.parent)}, but chain[${i - 1}] has id ${ids[i - 1]}`);
    if (t.issuer !== parent.subject) fail('E_ISSUER_NOT_PARENT_SUBJECT', `${at} is issued by ${t.issuer}, not by the subject of chain[${i - 1}] (${parent.subject})`);
    if (parent.role !== 'admin') {
      if (t.role === 'admin') fail('E_ROLE_ESCALATION', `${at} grants admin but its parent chain[${i - 1}] is a member token`);
      fail('E_NOT_ADMIN_MINT', `${at} was minted by a member (chain[${i - 1}]); only admins mint`);
    }
    if (parent.expires_at !== null && (t.expires_at === null || t.expires_at > parent.expires_at)) {
      fail('E_OUTLIVES_PARENT', `${at} expires ${t.expires_at ?? 'never'}, after its parent (${parent.expires_at})`);
    }
    const retired = windowOf(windows, t.issuer, true);
    if (retired !== undefined && t.issued_at > retired.end) {
      fail('E_DELEGATION_WINDOW', `${at} is signed by retired founder ${t.issuer} at ${t.issued_at}, after its window closed (${retired.end})`);
    }
  }

  // Time and revocation apply to every token in the chain.
  for (let i = 0; i < chain.length; i++) {
    const t = chain[i]!;
    if (t.issued_at > now + CLOCK_SKEW_S) fail('E_NOT_YET_VALID', `chain[${i}] is dated ${t.issued_at}, in the future (now ${now})`);
    if (t.expires_at !== null && now >= t.expires_at) fail('E_EXPIRED', `chain[${i}] expired at ${t.expires_at} (now ${now})`);
    if (revoked.has(ids[i]!)) {
      const at = revokedAt?.get(ids[i]!);
      // a revoke dated before the token it names is backdated and does not count
      if (at === undefined || at + CLOCK_SKEW_S >= t.issued_at) {
        const reason = revoked.get(ids[i]!);
        fail('E_REVOKED', `chain[${i}] (token ${ids[i]}) is revoked${typeof reason === 'string' ? ` (reason: ${JSON.stringify(reason)})` : ''}`);
      }
    }
  }
  const leafId = ids[ids.length - 1]!;
  if (left?.has(leafId) === true) {
    fail('E_LEFT', `chain[${chain.length - 1}] (token ${leafId}) was given up by its holder (a verified LEAVE)`);
  }

  const leaf = chain[chain.length - 1]!;
  if (leaf.subject !== presenter) fail('E_PRESENTER_MISMATCH', `the chain grants ${leaf.subject}, but the presenter is ${presenter}`);
  const leafRetired = windowOf(windows, leaf.subject, true);
  if (leafRetired !== undefined && now > leafRetired.end) {
    fail('E_DELEGATION_WINDOW', `the presenter ${presenter} is a founder key retired at ${leafRetired.end}`);
  }

  // Signatures last: each one checked once, delegations before tokens.
  for (const p of pending) {
    if (!verifyHex(p.pk, messageFromCanonical(p.kind, p.canonical), p.sig)) {
      if (p.kind === 'delegation') fail('E_DELEGATION_SIGNATURE', `a delegation signature by ${p.pk} does not verify`);
      const i = chain.findIndex((t) => t.sig === p.sig);
      fail('E_BAD_SIGNATURE', `chain[${i}]: the signature by ${p.pk} does not verify`);
    }
    if (cache !== undefined) {
      if (p.kind === 'token') cache.addToken(p.token, p.id);
      else cache.addDelegation(p.delegation, sha256Hex(p.canonical));
    }
  }
  const founder = windows[windows.length - 1]!.key;
  return { ok: true, role: leaf.role, leaf: { ...leaf }, depth: chain.length, founder };
}

/** Verifies a token chain for a presenter. Never throws: every refusal is a code and a message. */
export function verifyChain(input: VerifyInput): VerifyResult {
  try {
    return run(input);
  } catch (e) {
    if (e instanceof TrustError) return { ok: false, code: e.code as TrustVerifyCode, message: e.message };
    return { ok: false, code: 'E_MALFORMED', message: `unverifiable input: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** verifyChain, throwing the TrustError instead of returning it. */
export function verifyChainOrThrow(input: VerifyInput): Extract<VerifyResult, { ok: true }> {
  const r = verifyChain(input);
  if (!r.ok) throw new TrustError(r.code, r.message);
  return r;
}
