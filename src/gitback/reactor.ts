/**
 * The root reactor: sweeps every user's *.pending sentinels into the envoy's envelope
 * store (verifying each first), records envoy tombstones for projects their founder has
 * tombstoned, removes per-user directories that only held swept sentinels, and reaps
 * envelopes past their retention. A sentinel is renamed aside before it is read, so a
 * user appending a new revoke meanwhile never loses it.
 *
 * It runs on the daemon's event loop, so its work is bounded: at most `perUser`
 * verifications for one user and `perTick` in all per tick (a sentinel left half-done
 * stays `*.sweeping` and continues next tick: `more` tells the caller to tick again
 * soon), and at most `quotaPerUserProject` envelopes held in the store per uid and project.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { closeFd, fstatat, fstatFd, O, openat, openDirAt, openDirNoFollow, readdirFd, renameat, unlinkat, withFd, type FsAtError } from '../platform/fsat.js';
import { VigoError } from '../platform/errors.js';
import { basename, dirname, join } from 'node:path';
import { paths, type Env } from '../platform/paths.js';
import { writeFileAtomic } from '../platform/atomic.js';
import {
  envelopeId,
  parseStrictJson,
  resolveRevocations,
  verifyChain,
  verifyLeave,
  verifyRevoke,
  type Delegation,
  type LeaveEnvelope,
  type RevocationSet,
  type RevokeEnvelope,
} from '../trust/index.js';
import { readPasswd, type PasswdEntry } from './passwd.js';
import { FILES, loadProject, type Reader } from './state.js';
import { EnvelopeCache, envelopeFile, heldByUid, loadStore, reapEnvelopes, storeLeave, storeRevoke } from './envelopes.js';
import { boundPresenter, tombstonesDir } from './daemon/access.js';
import { readBinding, readDelegationRecord } from './binding.js';

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

export interface SweepOptions {
  env: Env;
  passwdFile: string;
  now: () => number;
  log: (m: string) => void;
  limits?: Partial<SweepLimits>;
  /** the daemon's cache of verified envelopes (shared with the access decision) */
  envelopes?: EnvelopeCache;
  /** @internal for tests: runs after a project directory was opened and checked, before anything in it is used */
  afterCheck?: (dir: string) => void;
}

export interface SweepResult {
  revokes: number;
  leaves: number;
  rejected: number;
  tombstones: number;
  /** work was left for the next tick (a cap was reached): tick again soon */
  more: boolean;
  /** projects whose effective revocation set changed in this tick (end their open sessions) */
  changedProjects: string[];
}

/**
 * A user's directory held open by fd. It was opened with O_NOFOLLOW and fstat-checked
 * (a real directory owned by the user), and every later call names one component
 * relative to the fd: a user who swaps the directory for a symlink afterwards changes
 * nothing the sweep renames, removes or reads (issue 8 item 5).
 */
class UserDir {
  constructor(
    readonly fd: number,
    readonly path: string,
    readonly uid: number,
  ) {}

  /** A directory below `parentFd`, checked; null when absent; E_STATE_UNSAFE for a symlink, a non-directory or another owner. */
  static open(parentFd: number, name: string, path: string, uid: number): UserDir | null {
    let fd: number;
    try {
      fd = openDirAt(parentFd, name);
    } catch (e) {
      const code = (e as FsAtError).code;
      if (code === 'ENOENT') return null;
      if (code === 'ELOOP' || code === 'ENOTDIR') throw new VigoError('E_STATE_UNSAFE', `${path} is not a directory (symlinks are refused)`);
      throw e;
    }
    const st = fstatFd(fd);
    if (st.uid !== uid) {
      closeFd(fd);
      throw new VigoError('E_STATE_UNSAFE', `${path} is owned by uid ${st.uid}, not by the caller (uid ${uid})`);
    }
    return new UserDir(fd, path, uid);
  }

  has(name: string): boolean {
    return fstatat(this.fd, name) !== null;
  }

  /** dev:ino:size:mtime of a file here (a user who rewrites it starts it over), or null. */
  stamp(name: string): string | null {
    const st = fstatat(this.fd, name);
    return st === null ? null : `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  }

  /** A regular file here owned by the user (never through a symlink), at most 1 MiB; null when absent. */
  read(name: string): string | null {
    let fd: number;
    try {
      fd = openat(this.fd, name, O.RDONLY | O.NOFOLLOW | O.NONBLOCK);
    } catch (e) {
      const code = (e as FsAtError).code;
      if (code === 'ENOENT') return null;
      if (code === 'ELOOP') throw new VigoError('E_STATE_UNSAFE', `${this.path}/${name} is a symlink; refusing to follow it`);
      throw new VigoError('E_STATE_UNREADABLE', `cannot read ${this.path}/${name}: ${code}`);
    }
    return withFd(fd, () => {
      const st = fstatFd(fd);
      if (st.kind !== 'file') throw new VigoError('E_STATE_UNSAFE', `${this.path}/${name} is not a regular file`);
      if (st.uid !== this.uid) throw new VigoError('E_STATE_UNSAFE', `${this.path}/${name} is owned by uid ${st.uid}, not by the caller (uid ${this.uid})`);
      if (st.size > 1 << 20) throw new VigoError('E_OVERSIZE', `${this.path}/${name} is larger than 1 MiB`);
      return readFileSync(fd, 'utf8');
    });
  }

  rename(from: string, to: string): void {
    renameat(this.fd, from, this.fd, to);
  }

  unlink(name: string): void {
    unlinkat(this.fd, name);
  }

  names(): string[] {
    return readdirFd(this.fd);
  }

  close(): void {
    closeFd(this.fd);
  }
}

/** The home directory, walked from '/' following no symlink but root's own in root-owned directories. */
function openHome(home: string): number {
  return openDirNoFollow(home, { followSymlink: (_p, owner, holder) => owner === 0 && holder.uid === 0 });
}

/**
 * The Reader loadProject and boundPresenter use: files of the project directory through
 * its fd; anything else under the home (~/.vigo-puddle/identity.pub) walked down from the
 * home fd, one checked directory at a time.
 */
function fdReader(homeFd: number, home: string, uid: number, project: UserDir): Reader {
  return (path) => {
    if (dirname(path) === project.path) return project.read(basename(path));
    if (!path.startsWith(`${home}/`)) throw new VigoError('E_STATE_UNSAFE', `${path} is outside ${home}`);
    const parts = path.slice(home.length + 1).split('/');
    let dir = new UserDir(homeFd, home, uid);
    const opened: UserDir[] = [];
    try {
      for (const part of parts.slice(0, -1)) {
        const next = UserDir.open(dir.fd, part, `${dir.path}/${part}`, uid);
        if (next === null) return null;
        opened.push(next);
        dir = next;
      }
      return dir.read(parts[parts.length - 1]!);
    } finally {
      for (const d of opened) d.close();
    }
  };
}

/** Renames the sentinel aside (once); returns the name to read, or null when it is gone. */
function takeSentinel(dir: UserDir, file: string): string | null {
  const taking = `${file}.sweeping`;
  if (!dir.has(taking)) {
    try {
      dir.rename(file, taking);
    } catch {
      return null;
    }
  }
  return taking;
}

const defaultCache = new EnvelopeCache();
let rotation = 0; // which user goes first, so a capped tick does not always serve the same ones
const noted = new Set<string>(); // "waiting for a binding" is logged once per sentinel
/** half-done revoke sentinels: parsed once, continued at `next` while the file is unchanged */
const progress = new Map<string, { stamp: string; list: unknown[]; next: number }>();

/** The budget of one tick: per user and in all. */
class Budget {
  total: number;
  user = 0;
  exhausted = false;
  private readonly started = process.hrtime.bigint();
  constructor(readonly limits: SweepLimits) {
    this.total = limits.perTick;
  }
  forUser(): void {
    this.user = Math.min(this.limits.perUser, this.total);
  }
  /** true while the tick is under its wall-time cap */
  private used = 0;
  inTime(): boolean {
    // the first unit of a tick is always allowed, so a slow machine still makes progress
    if (this.used === 0 || Number(process.hrtime.bigint() - this.started) / 1e6 < this.limits.maxTickMs) return true;
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
}

class Rejection extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** `<CODE>: <message>` for coded errors (trust, state, Rejection), the message otherwise */
const reasonOf = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e);
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && !e.message.startsWith(code) ? `${code}: ${e.message}` : e.message;
};
/** what access depends on: the tokens revoked (and since when) and the tokens left */
const fingerprint = (s: RevocationSet): string =>
  [...[...s.revokedAt].map(([k, t]) => `${k}@${t}`).sort(), '|', ...[...s.left.keys()].sort()].join(',');

export function sweepOnce(opts: SweepOptions): SweepResult {
  const res: SweepResult = { revokes: 0, leaves: 0, rejected: 0, tombstones: 0, more: false, changedProjects: [] };
  const limits: SweepLimits = { ...DEFAULT_SWEEP_LIMITS, ...opts.limits };
  const store = paths.gitbackEnvelopes(opts.env);
  const cache = opts.envelopes ?? defaultCache;
  const now = opts.now();
  const budget = new Budget(limits);
  const changed = new Set<string>();
  const users = readPasswd(opts.passwdFile);
  const start = users.length === 0 ? 0 : rotation % users.length;
  for (const user of [...users.slice(start), ...users.slice(0, start)]) {
    if (budget.total <= 0) {
      budget.exhausted = true;
      break;
    }
    budget.forUser();
    const base = join(user.home, '.vigo-gitback');
    let homeFd: number;
    try {
      homeFd = openHome(user.home);
    } catch (e) {
      if ((e as FsAtError).code !== 'ENOENT') opts.log(`skipping ${user.home}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    try {
      sweepUser(opts, { store, cache, now, budget, limits, res, changed }, user, homeFd, base);
    } finally {
      closeFd(homeFd);
    }
  }
  if (budget.exhausted) {
    res.more = true;
    rotation++;
  }
  res.changedProjects = [...changed].sort();
  return res;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** One user's ~/.vigo-gitback, walked by directory fds from the home fd. */
function sweepUser(
  opts: SweepOptions,
  t: Pick<SweepCtx, 'store' | 'cache' | 'now' | 'budget' | 'limits' | 'res' | 'changed'>,
  user: PasswdEntry,
  homeFd: number,
  base: string,
): void {
  let baseDir: UserDir | null;
  try {
    baseDir = UserDir.open(homeFd, '.vigo-gitback', base, user.uid);
  } catch (e) {
    opts.log(`skipping ${base}: ${e instanceof Error ? e.message : String(e)}`);
    return;
  }
  if (baseDir === null) return;
  try {
    for (const pid of baseDir.names().filter((n) => HEX64.test(n)).sort()) {
      const path = join(base, pid);
      let dir: UserDir | null = null;
      try {
        dir = UserDir.open(baseDir.fd, pid, path, user.uid);
        if (dir === null) continue;
        opts.afterCheck?.(path);
        const read = fdReader(homeFd, user.home, user.uid, dir);
        const c: SweepCtx = { ...t, opts, user, read, dir, pid };
        const sweptHere = sweepLeave(c);
        sweepRevokes(c);
        const state = loadProject(base, pid, read);
        if (state === null) {
          // after a leave only the swept sentinel was left: the directory goes with it
          // (never a directory swept nothing from — it may be a project being written),
          // and only while the name still holds the directory that was swept
          const st = fstatat(baseDir.fd, pid);
          if (sweptHere && dir.names().length === 0 && st !== null && st.ino === fstatFd(dir.fd).ino) unlinkat(baseDir.fd, pid, { dir: true });
          continue;
        }
        if (state.config.tombstoned_at !== null && recordTombstone(opts.env, state, t.now, user)) t.res.tombstones++;
      } catch (e) {
        opts.log(`skipping ${path}: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        dir?.close();
      }
    }
  } finally {
    baseDir.close();
  }
}

interface SweepCtx {
  opts: SweepOptions;
  store: string;
  cache: EnvelopeCache;
  now: number;
  budget: Budget;
  user: PasswdEntry;
  read: Reader;
  dir: UserDir;
  pid: string;
  limits: SweepLimits;
  res: SweepResult;
  changed: Set<string>;
}

function reject(c: SweepCtx, taken: string, file: string, why: string): void {
  c.res.rejected++;
  c.dir.rename(taken, `${file}.rejected`);
  c.opts.log(`rejected ${join(c.dir.path, file)} (from ${c.user.name}): ${why}`);
}

/** The key bound to this uid, or null (logged once) while it is not bound yet. */
function userKey(c: SweepCtx, file: string): string | null {
  try {
    return boundPresenter(c.opts.env, { uid: c.user.uid, name: c.user.name, home: c.user.home }, c.read);
  } catch (e) {
    const k = `${c.user.uid}/${c.pid}/${file}`;
    if (!noted.has(k)) {
      if (noted.size > 10_000) noted.clear();
      noted.add(k);
      c.opts.log(`not sweeping ${join(c.dir.path, file)} yet: ${reasonOf(e)}`);
    }
    return null;
  }
}

function quotaLeft(c: SweepCtx): number {
  return c.limits.quotaPerUserProject - heldByUid(c.store, c.pid, c.user.uid);
}

function held(c: SweepCtx, known: Delegation[]): { revokes: RevokeEnvelope[]; leaves: LeaveEnvelope[]; set: RevocationSet } {
  return loadStore(c.store, c.pid, c.now, c.opts.log, c.cache, { knownDelegations: known });
}

function noteChange(c: SweepCtx, before: RevocationSet, after: RevocationSet): void {
  if (fingerprint(before) !== fingerprint(after)) c.changed.add(c.pid);
}

/**
 * leave.pending: exactly one LEAVE, verifying for this project (it carries the leaver's
 * chain), signed by the key bound to this uid. Returns whether it was stored.
 */
function sweepLeave(c: SweepCtx): boolean {
  const file = FILES.leavePending;
  if (!c.dir.has(file) && !c.dir.has(`${file}.sweeping`)) return false;
  if (c.budget.user <= 0 || c.budget.total <= 0) {
    c.budget.exhausted = true;
    return false;
  }
  const taken = takeSentinel(c.dir, file);
  if (taken === null) return false;
  const known = readDelegationRecord(c.opts.env, c.pid);
  let env: LeaveEnvelope;
  try {
    const text = c.dir.read(taken);
    if (text === null) return false;
    const v = parseStrictJson(text, { what: join(c.dir.path, file) });
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Rejection('E_MALFORMED', `${file} must hold exactly one LEAVE envelope (an object), not ${Array.isArray(v) ? `an array of ${v.length}` : typeof v}`);
    c.budget.take();
    env = verifyLeave(v, c.pid, c.now, { cache: c.cache.verifyCache, ...(known.length > 0 ? { knownDelegations: known } : {}) });
  } catch (e) {
    reject(c, taken, file, reasonOf(e));
    return false;
  }
  const key = userKey(c, file);
  if (key === null) return false; // wait for the binding; the sentinel stays *.sweeping
  if (env.subject !== key) {
    reject(c, taken, file, `E_PRESENTER_MISMATCH: the leave is signed by ${env.subject}, not by the key bound to ${c.user.name} (${key})`);
    return false;
  }
  if (!existsSync(envelopeFile(c.store, 'leave', env, c.user.uid)) && quotaLeft(c) <= 0) {
    reject(c, taken, file, `E_QUOTA: ${c.user.name} (uid ${c.user.uid}) already holds ${c.limits.quotaPerUserProject} envelopes for ${c.pid}; nothing stored`);
    return false;
  }
  const h = held(c, known);
  const before = h.set;
  storeLeave(c.store, env, c.user.uid);
  noteChange(c, before, resolveRevocations(h.revokes, [...h.leaves, env]));
  c.dir.unlink(taken);
  c.res.leaves++;
  c.opts.log(`stored leave of token ${env.token_id.slice(0, 12)}… from ${c.pid.slice(0, 12)}… (from ${c.user.name})`);
  return true;
}

/**
 * revoke.pending: an array of REVOKEs, swept only for a user whose own chain for this
 * project verifies (with the key bound to its uid; revocations aside). Each revoke
 * must verify and stand (its signer not revoked before it signed); the first that does
 * not rejects the sentinel. Bounded by the budget: the rest continues next tick.
 */
function sweepRevokes(c: SweepCtx): void {
  const file = FILES.revokePending;
  if (!c.dir.has(file) && !c.dir.has(`${file}.sweeping`)) return;
  if (c.budget.user <= 0 || c.budget.total <= 0) {
    c.budget.exhausted = true;
    return;
  }
  const taken = takeSentinel(c.dir, file);
  if (taken === null) return;
  const known = readDelegationRecord(c.opts.env, c.pid);
  const vopts = { cache: c.cache.verifyCache, ...(known.length > 0 ? { knownDelegations: known } : {}) };
  const h = held(c, known);
  const before = h.set;
  let list: unknown[];
  let start = 0;
  const stamp = c.dir.stamp(taken);
  const resume = progress.get(join(c.dir.path, taken));
  if (resume !== undefined && stamp !== null && resume.stamp === stamp) {
    // a sentinel left half-done by the last tick, unchanged since: continue where it stopped
    list = resume.list;
    start = resume.next;
  } else {
    try {
      const text = c.dir.read(taken);
      if (text === null) return;
      const v = parseStrictJson(text, { what: join(c.dir.path, file) });
      list = Array.isArray(v) ? v : [v];
    } catch (e) {
      reject(c, taken, file, reasonOf(e));
      return;
    }
  }
  progress.delete(join(c.dir.path, taken));
  // the sweeping user must itself hold verified state for this project
  const key = userKey(c, file);
  if (key === null) return;
  // its chain: from its state, or — an admin who revoked and then left before the sweep —
  // from its own leave held in the store (a leave carries the leaver's chain)
  const state = loadProject(join(c.user.home, '.vigo-gitback'), c.pid, c.read) ?? h.leaves.find((l) => l.subject === key) ?? null;
  if (state === null) {
    reject(c, taken, file, `E_NOT_MEMBER: ${c.user.name} holds no state for ${c.pid}; revokes are swept only for members`);
    return;
  }
  const own = 'chain' in state ? { chain: state.chain, delegations: state.delegations } : { chain: state.subject_chain, delegations: state.subject_delegations };
  // membership, not current standing: a revoke this admin signed before its own revocation
  // still stands, so the revocations are applied per revoke below (resolveRevocations)
  c.budget.take();
  const member = verifyChain({
    projectId: c.pid,
    chain: own.chain,
    delegations: own.delegations,
    revoked: new Map(),
    now: c.now,
    presenter: key,
    cache: c.cache.verifyCache,
    ...(known.length > 0 ? { knownDelegations: known } : {}),
  });
  if (!member.ok) {
    reject(c, taken, file, `${member.code}: ${c.user.name}'s own chain for ${c.pid} does not verify (${member.message}); nothing swept`);
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
    if (existsSync(join(c.store, c.pid, 'revokes', `${id}.u${c.user.uid}.json`))) continue; // stored in an earlier tick
    if (quota <= 0) {
      failure = `E_QUOTA: ${c.user.name} (uid ${c.user.uid}) holds ${c.limits.quotaPerUserProject} envelopes for ${c.pid} (the per-user quota); the rest is refused`;
      break;
    }
    if (!c.budget.take(fresh.length === 0)) break;
    try {
      fresh.push({ r: verifyRevoke(v, c.pid, c.now, vopts), at: next });
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
    storeRevoke(c.store, r, c.user.uid);
    stored++;
    c.res.revokes++;
    c.opts.log(`stored revoke of token ${r.token_id.slice(0, 12)}… in ${c.pid.slice(0, 12)}… (from ${c.user.name})`);
  }
  const storedSet = stored === fresh.length ? after : resolveRevocations([...h.revokes, ...fresh.slice(0, stored).map((f) => f.r)], h.leaves);
  noteChange(c, before, storedSet);
  if (failure !== null) reject(c, taken, file, failure);
  else if (next >= list.length) c.dir.unlink(taken);
  else if (stamp !== null) {
    if (progress.size > 10_000) progress.clear();
    progress.set(join(c.dir.path, taken), { stamp, list, next });
  }
}

/**
 * An envoy tombstone needs the founder's own verifying admin chain behind it, held by the
 * uid bound to that founder key (a chain is not secret: anyone could copy it).
 */
function recordTombstone(env: Env, state: NonNullable<ReturnType<typeof loadProject>>, now: number, owner: { uid: number; name: string }): boolean {
  const user = owner.name;
  const file = join(tombstonesDir(env), `${state.config.project_id}.json`);
  if (existsSync(file)) return false;
  const leaf = state.chain[state.chain.length - 1];
  if (!leaf) return false;
  const bound = readBinding(env, owner.uid);
  if (bound === null || bound.user !== owner.name || bound.pubkey !== leaf.subject) return false;
  const known = readDelegationRecord(env, state.config.project_id);
  const r = verifyChain({
    projectId: state.config.project_id,
    chain: state.chain,
    delegations: state.delegations,
    revoked: new Map(),
    now,
    presenter: leaf.subject,
    ...(known.length > 0 ? { knownDelegations: known } : {}),
  });
  if (!r.ok || r.role !== 'admin' || r.founder !== leaf.subject) return false;
  mkdirSync(tombstonesDir(env), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, JSON.stringify({ project_id: state.config.project_id, tombstoned_at: state.config.tombstoned_at, successor: state.config.successor, by: user }) + '\n', { mode: 0o600 });
  return true;
}

export function reapOnce(env: Env, nowMs: number, retentionS: number, log: (m: string) => void): number {
  const removed = reapEnvelopes(paths.gitbackEnvelopes(env), nowMs, retentionS);
  for (const f of removed) log(`reaped ${f} (older than ${Math.round(retentionS / 86400)} days)`);
  return removed.length;
}
