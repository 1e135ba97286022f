/**
 * The envoy's envelope store: $VIGO_ROOT/var/lib/vigo/swarm/gitback/envelopes/<pid>/
 * {revokes,leaves}/<envelope_id>[.u<uid>].json, root-owned. One file per envelope and
 * contributing uid (`.u<uid>`: the local user whose sentinel it came from, so a per-user
 * quota can be counted from the files themselves; none for envelopes from elsewhere).
 * Only verified envelopes are stored; reading re-verifies (a file edited on disk proves
 * nothing), and what is in force is the trust core's resolveRevocations over the whole
 * set: a revoke whose signer stood revoked does not stand, a leave retires its token
 * only as a chain's leaf.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/atomic.js';
import {
  canonicalize,
  envelopeId,
  parseStrictJson,
  resolveRevocations,
  verifyLeave,
  verifyRevoke,
  VerifyCache,
  type Delegation,
  type LeaveEnvelope,
  type RevocationSet,
  type RevokeEnvelope,
} from '../trust/index.js';

export function revokesDir(store: string, pid: string): string {
  return join(store, pid, 'revokes');
}
export function leavesDir(store: string, pid: string): string {
  return join(store, pid, 'leaves');
}

const ENVELOPE_FILE = /^([0-9a-f]{64})(?:\.u(\d+))?\.json$/;

/** The file an envelope is held in for uid (or for no local user). */
export function envelopeFile(store: string, kind: 'revoke' | 'leave', env: RevokeEnvelope | LeaveEnvelope, uid?: number): string {
  const dir = kind === 'revoke' ? revokesDir(store, env.project_id) : leavesDir(store, env.project_id);
  return join(dir, `${envelopeId(env)}${uid === undefined ? '' : `.u${uid}`}.json`);
}

function store(storeDir: string, kind: 'revoke' | 'leave', env: RevokeEnvelope | LeaveEnvelope, uid?: number): string {
  const file = envelopeFile(storeDir, kind, env, uid);
  mkdirSync(kind === 'revoke' ? revokesDir(storeDir, env.project_id) : leavesDir(storeDir, env.project_id), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) writeFileAtomic(file, canonicalize(env) + '\n', { mode: 0o600 });
  return file;
}

export function storeRevoke(storeDir: string, env: RevokeEnvelope, uid?: number): string {
  return store(storeDir, 'revoke', env, uid);
}

export function storeLeave(storeDir: string, env: LeaveEnvelope, uid?: number): string {
  return store(storeDir, 'leave', env, uid);
}

function jsonFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => ENVELOPE_FILE.test(n))
    .sort()
    .map((n) => join(dir, n));
}

/** How many envelopes uid holds in the store for pid (its quota's count). */
export function heldByUid(storeDir: string, pid: string, uid: number): number {
  let n = 0;
  for (const dir of [revokesDir(storeDir, pid), leavesDir(storeDir, pid)]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (ENVELOPE_FILE.exec(name)?.[2] === String(uid)) n++;
  }
  return n;
}

type Held = { kind: 'revoke'; env: RevokeEnvelope } | { kind: 'leave'; env: LeaveEnvelope };

/**
 * Verified envelopes by file, valid while the file's mtime and size (and the delegation
 * list they were checked against) are unchanged, and the last resolved set per project,
 * valid while the set of files is — so a connection neither re-verifies every stored
 * envelope's signatures nor re-resolves an unchanged store.
 */
export class EnvelopeCache {
  /** shared by every chain an envelope carries */
  readonly verifyCache = new VerifyCache(8192);
  private readonly m = new Map<string, { mtimeMs: number; size: number; known: number; held: Held }>();
  private readonly sets = new Map<string, { fingerprint: string; set: RevocationSet }>();

  /** @internal */
  get(file: string, known: number, verify: () => Held): { held: Held; stamp: string } {
    const st = statSync(file);
    const stamp = `${file}:${st.mtimeMs}:${st.size}`;
    const hit = this.m.get(file);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size && hit.known === known) return { held: hit.held, stamp };
    const held = verify();
    if (this.m.size > 100_000) this.m.clear();
    this.m.set(file, { mtimeMs: st.mtimeMs, size: st.size, known, held });
    return { held, stamp };
  }

  /** @internal */
  resolved(pid: string, fingerprint: string, compute: () => RevocationSet): RevocationSet {
    const hit = this.sets.get(pid);
    if (hit && hit.fingerprint === fingerprint) return hit.set;
    const set = compute();
    if (this.sets.size > 10_000) this.sets.clear();
    this.sets.set(pid, { fingerprint, set });
    return set;
  }
}

export interface LoadOptions {
  /** the envoy's delegation record for the project (the revokes' and leaves' chains are checked against it) */
  knownDelegations?: Delegation[];
  /** each revoked token's reason ends with `(revocation <envelope id>)`: refusals then name the revocation to look up */
  nameRevocations?: boolean;
}

/** The set with each revoked token's reason naming the earliest standing revoke of it (a copy: cached sets are shared). */
export function namedRevocations(revokes: readonly RevokeEnvelope[], set: RevocationSet): RevocationSet {
  const standing = new Set(set.standing);
  const byToken = new Map<string, string>();
  for (const r of [...revokes].sort((a, b) => a.issued_at - b.issued_at)) {
    const id = envelopeId(r);
    if (standing.has(id) && !byToken.has(r.token_id)) byToken.set(r.token_id, id);
  }
  const revoked = new Map<string, string | null>();
  for (const [token, reason] of set.revoked) revoked.set(token, `${reason ?? 'revoked'} (revocation ${byToken.get(token) ?? 'unknown'})`);
  return { ...set, revoked };
}

/** Every stored envelope of pid that verifies on its own (duplicates across uids included). */
export function loadHeld(
  storeDir: string,
  pid: string,
  now: number,
  log?: (m: string) => void,
  cache: EnvelopeCache = new EnvelopeCache(),
  opts: LoadOptions = {},
): { revokes: RevokeEnvelope[]; leaves: LeaveEnvelope[]; fingerprint: string } {
  const known = opts.knownDelegations ?? [];
  const vopts = { cache: cache.verifyCache, ...(known.length > 0 ? { knownDelegations: known } : {}) };
  const revokes: RevokeEnvelope[] = [];
  const leaves: LeaveEnvelope[] = [];
  const stamps: string[] = [String(known.length)];
  const each = (files: string[], verify: (v: unknown) => Held) => {
    for (const f of files) {
      try {
        const { held, stamp } = cache.get(f, known.length, () => verify(parseStrictJson(readFileSync(f), { what: f })));
        stamps.push(stamp);
        if (held.kind === 'revoke') revokes.push(held.env);
        else leaves.push(held.env);
      } catch (e) {
        log?.(`ignoring ${f}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  each(jsonFiles(revokesDir(storeDir, pid)), (v) => ({ kind: 'revoke', env: verifyRevoke(v, pid, now, vopts) }));
  each(jsonFiles(leavesDir(storeDir, pid)), (v) => ({ kind: 'leave', env: verifyLeave(v, pid, now, vopts) }));
  return { revokes, leaves, fingerprint: stamps.join('\n') };
}

/**
 * What is in force for pid (pass `revoked`, `revokedAt` and `left` to verifyChain): the
 * trust core's resolveRevocations over every stored envelope that verifies.
 */
export function loadRevocations(
  storeDir: string,
  pid: string,
  now: number,
  log?: (m: string) => void,
  cache: EnvelopeCache = new EnvelopeCache(),
  opts: LoadOptions = {},
): RevocationSet {
  return loadStore(storeDir, pid, now, log, cache, opts).set;
}

/** loadHeld and loadRevocations in one pass (the reactor needs both). */
export function loadStore(
  storeDir: string,
  pid: string,
  now: number,
  log?: (m: string) => void,
  cache: EnvelopeCache = new EnvelopeCache(),
  opts: LoadOptions = {},
): { revokes: RevokeEnvelope[]; leaves: LeaveEnvelope[]; set: RevocationSet } {
  const held = loadHeld(storeDir, pid, now, log, cache, opts);
  const set = cache.resolved(pid, held.fingerprint, () => resolveRevocations(held.revokes, held.leaves));
  return { revokes: held.revokes, leaves: held.leaves, set: opts.nameRevocations === true ? namedRevocations(held.revokes, set) : set };
}

/** Distinct envelopes held (an envelope swept from two users' sentinels counts once). */
export function countEnvelopes(storeDir: string): { revokes: number; leaves: number } {
  let revokes = 0;
  let leaves = 0;
  if (!existsSync(storeDir)) return { revokes, leaves };
  const distinct = (dir: string) => new Set(jsonFiles(dir).map((f) => ENVELOPE_FILE.exec(f.slice(dir.length + 1))?.[1])).size;
  for (const pid of readdirSync(storeDir)) {
    revokes += distinct(revokesDir(storeDir, pid));
    leaves += distinct(leavesDir(storeDir, pid));
  }
  return { revokes, leaves };
}

/** Removes envelopes stored longer ago than retentionS; returns the paths removed. */
export function reapEnvelopes(storeDir: string, nowMs: number, retentionS: number): string[] {
  const removed: string[] = [];
  if (!existsSync(storeDir)) return removed;
  for (const pid of readdirSync(storeDir)) {
    for (const f of [...jsonFiles(revokesDir(storeDir, pid)), ...jsonFiles(leavesDir(storeDir, pid))]) {
      if (nowMs - statSync(f).mtimeMs > retentionS * 1000) {
        rmSync(f, { force: true });
        removed.push(f);
      }
    }
  }
  return removed;
}

/**
 * The envelope store as envelope gossip uses it (src/swarm/envelope-gossip.ts,
 * EnvelopeGossipStore): what verifies against the envoy's delegation record, and
 * envelopes from peers held with no local uid (they count against no user's quota).
 */
export function gossipEnvelopeStore(
  storeDir: string,
  delegations: (pid: string) => Delegation[],
  cache: EnvelopeCache = new EnvelopeCache(),
  log?: (m: string) => void,
): {
  load(pid: string, nowS: number): { revokes: RevokeEnvelope[]; leaves: LeaveEnvelope[]; set: RevocationSet };
  put(kind: 'revoke' | 'leave', env: RevokeEnvelope | LeaveEnvelope): void;
  delegations(pid: string): Delegation[];
} {
  return {
    load: (pid, nowS) => loadStore(storeDir, pid, nowS, log, cache, { knownDelegations: delegations(pid), nameRevocations: true }),
    put: (kind, env) => void (kind === 'revoke' ? storeRevoke(storeDir, env as RevokeEnvelope) : storeLeave(storeDir, env as LeaveEnvelope)),
    delegations,
  };
}
