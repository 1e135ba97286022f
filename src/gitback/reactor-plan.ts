/**
 * The root reactor's decisions, free of I/O: what to do with one user's project directory
 * given what the sweep observed there (the pending sentinels' bytes, the user's project
 * state and identity.pub) and what the envoy's stores hold (envelopes, bindings, delegation
 * records, tombstones). planSweep returns actions; reactor.ts observes and applies them
 * through directory fds. The plan writes nothing: it reads the stores, spends the tick's
 * budget and returns what the applier must store, rename, remove and log.
 *
 * The rules (docs/gitback.md "The root reactor"):
 * - leave.pending: exactly one LEAVE, verifying for this project, signed by the key bound
 *   to this uid, within the uid's quota;
 * - revoke.pending: an array of REVOKEs, swept only for a uid whose own chain for the
 *   project verifies (membership, not standing); each must verify and stand, and the first
 *   that does not rejects the rest; bounded by the budget, continued next tick;
 * - an envoy tombstone needs the founder's own verifying admin chain, held by the uid bound
 *   to that founder key.
 */
import { join } from 'node:path';
import type { Clock } from '../platform/clock.js';
import {
  envelopeId,
  parseStrictJson,
  resolveRevocations,
  verifyChain,
  verifyLeave,
  verifyRevoke,
  type LeaveEnvelope,
  type RevocationSet,
  type RevokeEnvelope,
  type VerifyCache,
} from '../trust/index.js';
import { boundPresenterOf, type Loaded } from './daemon/decide.js';
import type { PasswdEntry } from './passwd.js';
import { FILES, type ProjectState } from './state.js';
import type { BindingStore, EnvelopeStore, HeldEnvelopes, ProjectStore, TombstoneRecord } from './stores/stores.js';

export interface SweepLimits {
  /** envelope (and membership) verifications for one user per tick */
  perUser: number;
  /** verifications per tick over all users */
  perTick: number;
  /** envelopes one uid may hold in the store per project (refused beyond it) */
  quotaPerUserProject: number;
  /** wall time one tick may spend before it stops and leaves the rest (ms) */
  maxTickMs: number;
}

/**
 * Each stored envelope costs an Ed25519 verification (~0.2 ms) and an atomic write with
 * two fsyncs (1–10 ms on a loaded disk), so the wall-time cap is what bounds the
 * event-loop stall; the counts bound the work of one user and of one tick.
 */
export const DEFAULT_SWEEP_LIMITS: SweepLimits = { perUser: 32, perTick: 128, quotaPerUserProject: 1000, maxTickMs: 100 };

/** The budget of one tick: per user and in all, and its wall time on the clock passed in. */
export class Budget {
  total: number;
  user = 0;
  exhausted = false;
  private used = 0;
  private readonly started: number;
  constructor(
    readonly limits: SweepLimits,
    private readonly clock: Clock,
  ) {
    this.total = limits.perTick;
    this.started = clock.now();
  }
  forUser(): void {
    this.user = Math.min(this.limits.perUser, this.total);
  }
  /** true while the tick is under its wall-time cap */
  inTime(): boolean {
    // the first unit of a tick is always allowed, so a slow machine still makes progress
    if (this.used === 0 || this.clock.now() - this.started < this.limits.maxTickMs) return true;
    this.total = 0;
    this.exhausted = true;
    return false;
  }
  /** one unit of work; `anyway` ignores the wall-time cap (the first revoke of a sentinel in a tick, so slow bookkeeping cannot starve it) */
  take(anyway = false): boolean {
    if (this.user <= 0 || this.total <= 0 || (!anyway && !this.inTime())) {
      this.exhausted = true;
      return false;
    }
    this.user--;
    this.total--;
    this.used++;
    return true;
  }
  /** false (and exhausted) when this user or this tick has nothing left */
  hasRoom(): boolean {
    if (this.user > 0 && this.total > 0) return true;
    this.exhausted = true;
    return false;
  }
}

/** A sentinel as observed: renamed aside to `taken`, then its text (null: gone meanwhile) or why it could not be read. */
export type ObservedSentinel = { taken: string; text: Loaded<string | null>; stamp: string | null };

/** A half-done revoke sentinel, parsed in an earlier tick and unchanged since (same stamp). */
export interface RevokeProgress {
  stamp: string;
  list: unknown[];
  next: number;
}

/** What the sweep observed in one user's ~/.vigo-gitback/<pid>. */
export interface ObservedProject {
  user: PasswdEntry;
  pid: string;
  /** the directory's path, for messages */
  path: string;
  leave: ObservedSentinel | null;
  revoke: ObservedSentinel | null;
  /** the revoke sentinel's progress, when its stamp matches the one remembered */
  resume: RevokeProgress | null;
  /** the user's project state (null: none) */
  state: Loaded<ProjectState | null>;
  /** ~/.vigo-puddle/identity.pub's text, read when there was a sentinel to sweep */
  identity: Loaded<string | null> | null;
}

export interface SweepStores {
  envelopes: EnvelopeStore;
  bindings: BindingStore;
  projects: ProjectStore;
}

export type SweepAction =
  | { do: 'store-leave'; env: LeaveEnvelope }
  | { do: 'store-revoke'; env: RevokeEnvelope }
  /** rename `taken` to `<file>.rejected` and log why */
  | { do: 'reject'; taken: string; file: string; why: string }
  | { do: 'unlink'; name: string }
  | { do: 'log'; line: string }
  /** log once per key (a sentinel waiting for its binding) */
  | { do: 'log-once'; key: string; line: string }
  | { do: 'remember-progress'; key: string; progress: RevokeProgress }
  | { do: 'forget-progress'; key: string }
  /** the project directory held only swept sentinels: remove it if it is still empty and still the one swept */
  | { do: 'remove-dir-if-empty' }
  | { do: 'tombstone'; record: TombstoneRecord };

export interface SweepPlan {
  actions: SweepAction[];
  /** the project's effective revocation set changes when the actions are applied */
  changed: boolean;
  /** what made the plan stop early (a state file that does not load, an unreadable record): logged as "skipping" after the actions */
  skip: unknown;
}

class Rejection extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** `<CODE>: <message>` for coded errors (trust, state, Rejection), the message otherwise */
export const reasonOf = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && !e.message.startsWith(code) ? `${code}: ${e.message}` : e.message;
};
/** what access depends on: the tokens revoked (and since when) and the tokens left */
const fingerprint = (s: RevocationSet): string =>
  [...[...s.revokedAt].map(([k, t]) => `${k}@${t}`).sort(), '|', ...[...s.left.keys()].sort()].join(',');

function valueOf<T>(f: Loaded<T>): T {
  if (!f.ok) throw f.error;
  return f.value;
}

interface Ctx {
  o: ObservedProject;
  stores: SweepStores;
  now: number;
  budget: Budget;
  limits: SweepLimits;
  cache: VerifyCache | undefined;
  /** keys already logged once */
  noted: ReadonlySet<string>;
  out: SweepAction[];
  /** leaves planned in this plan (not in the store yet) */
  planned: LeaveEnvelope[];
  plannedPuts: number;
  changed: boolean;
}

/**
 * The actions for one observed project directory, at `now` (unix seconds). Spends `budget`;
 * reads the stores, never writes them. `noted` is what was already logged once.
 */
export function planSweep(
  observed: ObservedProject,
  stores: SweepStores,
  now: number,
  run: { budget: Budget; limits: SweepLimits; cache?: VerifyCache; noted?: ReadonlySet<string> },
): SweepPlan {
  const c: Ctx = { o: observed, stores, now, budget: run.budget, limits: run.limits, cache: run.cache, noted: run.noted ?? new Set(), out: [], planned: [], plannedPuts: 0, changed: false };
  try {
    const sweptLeave = planLeave(c);
    planRevokes(c);
    const state = valueOf(observed.state);
    if (state === null) {
      // after a leave only the swept sentinel was left: the directory goes with it
      // (never a directory swept nothing from — it may be a project being written)
      if (sweptLeave) c.out.push({ do: 'remove-dir-if-empty' });
    } else if (state.config.tombstoned_at !== null) planTombstone(c, state);
    return { actions: c.out, changed: c.changed, skip: null };
  } catch (e) {
    return { actions: c.out, changed: c.changed, skip: e };
  }
}

function reject(c: Ctx, taken: string, file: string, why: string): void {
  c.out.push({ do: 'reject', taken, file, why });
}

/** The key bound to this uid, or null (logged once) while it is not bound yet. */
function userKey(c: Ctx, file: string): string | null {
  try {
    const identity = c.o.identity === null ? null : valueOf(c.o.identity);
    return boundPresenterOf(c.o.user, identity, () => c.stores.bindings.get(c.o.user.uid));
  } catch (e) {
    const key = `${c.o.user.uid}/${c.o.pid}/${file}`;
    if (!c.noted.has(key)) c.out.push({ do: 'log-once', key, line: `not sweeping ${join(c.o.path, file)} yet: ${reasonOf(e)}` });
    return null;
  }
}

function quotaLeft(c: Ctx): number {
  return c.limits.quotaPerUserProject - c.stores.envelopes.heldByUid(c.o.pid, c.o.user.uid) - c.plannedPuts;
}

function held(c: Ctx, known: ReturnType<ProjectStore['delegations']>): HeldEnvelopes {
  const h = c.stores.envelopes.load(c.o.pid, c.now, known);
  if (c.planned.length === 0) return h;
  const leaves = [...h.leaves, ...c.planned];
  return { revokes: h.revokes, leaves, set: resolveRevocations(h.revokes, leaves) };
}

function noteChange(c: Ctx, before: RevocationSet, after: RevocationSet): void {
  if (fingerprint(before) !== fingerprint(after)) c.changed = true;
}

function vopts(c: Ctx, known: ReturnType<ProjectStore['delegations']>) {
  return { ...(c.cache ? { cache: c.cache } : {}), ...(known.length > 0 ? { knownDelegations: known } : {}) };
}

/** leave.pending; returns whether the leave is to be stored. */
function planLeave(c: Ctx): boolean {
  const file = FILES.leavePending;
  const s = c.o.leave;
  if (s === null || !c.budget.hasRoom()) return false;
  const known = c.stores.projects.delegations(c.o.pid);
  let env: LeaveEnvelope;
  try {
    const text = valueOf(s.text);
    if (text === null) return false;
    const v = parseStrictJson(text, { what: join(c.o.path, file) });
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Rejection('E_MALFORMED', `${file} must hold exactly one LEAVE envelope (an object), not ${Array.isArray(v) ? `an array of ${v.length}` : typeof v}`);
    c.budget.take();
    env = verifyLeave(v, c.o.pid, c.now, vopts(c, known));
  } catch (e) {
    reject(c, s.taken, file, reasonOf(e));
    return false;
  }
  const key = userKey(c, file);
  if (key === null) return false; // wait for the binding; the sentinel stays *.sweeping
  const { user } = c.o;
  if (env.subject !== key) {
    reject(c, s.taken, file, `E_PRESENTER_MISMATCH: the leave is signed by ${env.subject}, not by the key bound to ${user.name} (${key})`);
    return false;
  }
  if (!c.stores.envelopes.has('leave', c.o.pid, envelopeId(env), user.uid) && quotaLeft(c) <= 0) {
    reject(c, s.taken, file, `E_QUOTA: ${user.name} (uid ${user.uid}) already holds ${c.limits.quotaPerUserProject} envelopes for ${c.o.pid}; nothing stored`);
    return false;
  }
  const h = held(c, known);
  c.out.push({ do: 'store-leave', env });
  noteChange(c, h.set, resolveRevocations(h.revokes, [...h.leaves, env]));
  c.out.push({ do: 'unlink', name: s.taken });
  c.out.push({ do: 'log', line: `stored leave of token ${env.token_id.slice(0, 12)}… from ${c.o.pid.slice(0, 12)}… (from ${user.name})` });
  c.planned.push(env);
  c.plannedPuts++;
  return true;
}

/** revoke.pending, bounded by the budget: what is left is remembered for the next tick. */
function planRevokes(c: Ctx): void {
  const file = FILES.revokePending;
  const s = c.o.revoke;
  if (s === null || !c.budget.hasRoom()) return;
  const { user, pid } = c.o;
  const known = c.stores.projects.delegations(pid);
  const vo = vopts(c, known);
  const h = held(c, known);
  const before = h.set;
  const progressKey = join(c.o.path, s.taken);
  let list: unknown[];
  let start = 0;
  if (c.o.resume !== null) {
    // a sentinel left half-done by the last tick, unchanged since: continue where it stopped
    list = c.o.resume.list;
    start = c.o.resume.next;
  } else {
    try {
      const text = valueOf(s.text);
      if (text === null) return;
      const v = parseStrictJson(text, { what: join(c.o.path, file) });
      list = Array.isArray(v) ? v : [v];
    } catch (e) {
      reject(c, s.taken, file, reasonOf(e));
      return;
    }
  }
  c.out.push({ do: 'forget-progress', key: progressKey });
  // the sweeping user must itself hold verified state for this project
  const key = userKey(c, file);
  if (key === null) return;
  // its chain: from its state, or — an admin who revoked and then left before the sweep —
  // from its own leave held in the store (a leave carries the leaver's chain)
  const state = valueOf(c.o.state) ?? h.leaves.find((l) => l.subject === key) ?? null;
  if (state === null) {
    reject(c, s.taken, file, `E_NOT_MEMBER: ${user.name} holds no state for ${pid}; revokes are swept only for members`);
    return;
  }
  const own = 'chain' in state ? { chain: state.chain, delegations: state.delegations } : { chain: state.subject_chain, delegations: state.subject_delegations };
  // membership, not current standing: a revoke this admin signed before its own revocation
  // still stands, so the revocations are applied per revoke below (resolveRevocations)
  c.budget.take();
  const member = verifyChain({ projectId: pid, chain: own.chain, delegations: own.delegations, revoked: new Map(), now: c.now, presenter: key, ...vo });
  if (!member.ok) {
    reject(c, s.taken, file, `${member.code}: ${user.name}'s own chain for ${pid} does not verify (${member.message}); nothing swept`);
    return;
  }
  let quota = quotaLeft(c);
  const fresh: { r: RevokeEnvelope; at: number }[] = [];
  let failure: string | null = null;
  let next = start; // the first entry not handled yet
  for (; next < list.length; next++) {
    const v = list[next];
    let id: string;
    try {
      id = envelopeId(v as RevokeEnvelope);
    } catch (e) {
      failure = reasonOf(e);
      break;
    }
    if (c.stores.envelopes.has('revoke', pid, id, user.uid)) continue; // stored in an earlier tick
    if (quota <= 0) {
      failure = `E_QUOTA: ${user.name} (uid ${user.uid}) holds ${c.limits.quotaPerUserProject} envelopes for ${pid} (the per-user quota); the rest is refused`;
      break;
    }
    if (!c.budget.take(fresh.length === 0)) break;
    try {
      fresh.push({ r: verifyRevoke(v, pid, c.now, vo), at: next });
      quota--;
    } catch (e) {
      failure = reasonOf(e);
      break;
    }
  }
  // what stands is decided over the whole set (a revoke's signer may be revoked by one held)
  const after = resolveRevocations([...h.revokes, ...fresh.map((f) => f.r)], h.leaves);
  const refused = new Map(after.refused.map((r) => [r.id, r]));
  let stored = 0;
  for (const { r, at } of fresh) {
    if (stored > 0 && !c.budget.inTime()) {
      next = at; // verified but not stored: verified again next tick
      failure = null;
      break;
    }
    const no = refused.get(envelopeId(r));
    if (no !== undefined) {
      failure = `${no.code}: ${no.message}`;
      break;
    }
    c.out.push({ do: 'store-revoke', env: r });
    c.out.push({ do: 'log', line: `stored revoke of token ${r.token_id.slice(0, 12)}… in ${pid.slice(0, 12)}… (from ${user.name})` });
    stored++;
  }
  c.plannedPuts += stored;
  const storedSet = stored === fresh.length ? after : resolveRevocations([...h.revokes, ...fresh.slice(0, stored).map((f) => f.r)], h.leaves);
  noteChange(c, before, storedSet);
  if (failure !== null) reject(c, s.taken, file, failure);
  else if (next >= list.length) c.out.push({ do: 'unlink', name: s.taken });
  else if (s.stamp !== null) c.out.push({ do: 'remember-progress', key: progressKey, progress: { stamp: s.stamp, list, next } });
}

/**
 * An envoy tombstone needs the founder's own verifying admin chain behind it, held by the
 * uid bound to that founder key (a chain is not secret: anyone could copy it).
 */
function planTombstone(c: Ctx, state: ProjectState): void {
  const pid = state.config.project_id;
  if (c.stores.projects.isTombstoned(pid)) return;
  const leaf = state.chain[state.chain.length - 1];
  if (!leaf) return;
  const bound = c.stores.bindings.get(c.o.user.uid);
  if (bound === null || bound.user !== c.o.user.name || bound.pubkey !== leaf.subject) return;
  const known = c.stores.projects.delegations(pid);
  const r = verifyChain({
    projectId: pid,
    chain: state.chain,
    delegations: state.delegations,
    revoked: new Map(),
    now: c.now,
    presenter: leaf.subject,
    ...(known.length > 0 ? { knownDelegations: known } : {}),
  });
  if (!r.ok || r.role !== 'admin' || r.founder !== leaf.subject) return;
  c.out.push({ do: 'tombstone', record: { project_id: pid, tombstoned_at: state.config.tombstoned_at, successor: state.config.successor, by: c.o.user.name } });
}
