/**
 * The root reactor: sweeps every user's *.pending sentinels into the envoy's envelope
 * store (verifying each first), records envoy tombstones for projects their founder has
 * tombstoned, removes per-user directories that only held swept sentinels, and reaps
 * envelopes past their retention. A sentinel is renamed aside before it is read, so a
 * user appending a new revoke meanwhile never loses it.
 *
 * This file is the I/O: it walks each user's tree by directory fds (src/platform/fsat.ts),
 * observes a project directory (takes its sentinels aside and reads them, loads the
 * user's state), hands that to the pure planSweep (./reactor-plan.ts) and applies the
 * actions it returns, in order, through the same fds and the stores.
 *
 * It runs on the daemon's event loop, so its work is bounded: at most `perUser`
 * verifications for one user and `perTick` in all per tick (a sentinel left half-done
 * stays `*.sweeping` and continues next tick: `more` tells the caller to tick again
 * soon), and at most `quotaPerUserProject` envelopes held in the store per uid and project.
 */
import { readFileSync } from 'node:fs';
import { closeFd, fstatat, fstatFd, O, openat, openDirAt, openDirNoFollow, readdirFd, renameat, unlinkat, withFd, type FsAtError } from '../platform/fsat.js';
import { VigoError } from '../platform/errors.js';
import { basename, dirname, join } from 'node:path';
import { paths, type Env } from '../platform/paths.js';
import type { Clock } from '../platform/clock.js';
import type { VerifyCache } from '../trust/index.js';
import { FILES, loadProject, type Reader } from './state.js';
import { reapEnvelopes } from './envelopes.js';
import { IDENTITY_PUB, loadFact } from './daemon/decide.js';
import type { UserDirectory } from './stores/stores.js';
import type { PasswdEntry } from './passwd.js';
import { Budget, DEFAULT_SWEEP_LIMITS, planSweep, type ObservedProject, type ObservedSentinel, type RevokeProgress, type SweepLimits, type SweepPlan, type SweepStores } from './reactor-plan.js';

export { DEFAULT_SWEEP_LIMITS, type SweepLimits } from './reactor-plan.js';

/** What the reactor remembers between ticks (one per daemon, never a module global). */
export class SweepMemory {
  /** which user goes first, so a capped tick does not always serve the same ones */
  rotation = 0;
  /** "waiting for a binding" is logged once per sentinel */
  readonly noted = new Set<string>();
  /** half-done revoke sentinels: parsed once, continued at `next` while the file is unchanged */
  readonly progress = new Map<string, RevokeProgress>();
}

export interface SweepOptions {
  stores: SweepStores & { users: UserDirectory };
  /** the trust core's time (unix seconds from it) and the tick's wall-time cap */
  clock: Clock;
  log: (m: string) => void;
  limits?: Partial<SweepLimits>;
  /** the daemon's: rotation, once-only notes and half-done sentinels across ticks (a fresh one when absent) */
  memory?: SweepMemory;
  /** the daemon's cache of verified chains (shared with the access decision) */
  cache?: VerifyCache;
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
  /** (uid, project) pairs whose state this tick read: who holds what on this envoy (replication's members) */
  held: Array<{ uid: number; projectId: string }>;
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

interface Tick {
  opts: SweepOptions;
  memory: SweepMemory;
  now: number;
  budget: Budget;
  limits: SweepLimits;
  res: SweepResult;
  changed: Set<string>;
}

export function sweepOnce(opts: SweepOptions): SweepResult {
  const res: SweepResult = { revokes: 0, leaves: 0, rejected: 0, tombstones: 0, more: false, changedProjects: [], held: [] };
  const limits: SweepLimits = { ...DEFAULT_SWEEP_LIMITS, ...opts.limits };
  const memory = opts.memory ?? new SweepMemory();
  const t: Tick = { opts, memory, now: Math.floor(opts.clock.now() / 1000), budget: new Budget(limits, opts.clock), limits, res, changed: new Set() };
  const users = opts.stores.users.list();
  const start = users.length === 0 ? 0 : memory.rotation % users.length;
  for (const user of [...users.slice(start), ...users.slice(0, start)]) {
    if (t.budget.total <= 0) {
      t.budget.exhausted = true;
      break;
    }
    t.budget.forUser();
    let homeFd: number;
    try {
      homeFd = openHome(user.home);
    } catch (e) {
      if ((e as FsAtError).code !== 'ENOENT') opts.log(`skipping ${user.home}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    try {
      sweepUser(t, user, homeFd);
    } finally {
      closeFd(homeFd);
    }
  }
  if (t.budget.exhausted) {
    res.more = true;
    memory.rotation++;
  }
  res.changedProjects = [...t.changed].sort();
  return res;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** One user's ~/.vigo-gitback, walked by directory fds from the home fd. */
function sweepUser(t: Tick, user: PasswdEntry, homeFd: number): void {
  const base = join(user.home, '.vigo-gitback');
  let baseDir: UserDir | null;
  try {
    baseDir = UserDir.open(homeFd, '.vigo-gitback', base, user.uid);
  } catch (e) {
    t.opts.log(`skipping ${base}: ${e instanceof Error ? e.message : String(e)}`);
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
        t.opts.afterCheck?.(path);
        const observed = observe(t, user, homeFd, base, pid, dir);
        if (observed.state.ok && observed.state.value !== null) t.res.held.push({ uid: user.uid, projectId: pid });
        const plan = planSweep(observed, t.opts.stores, t.now, { budget: t.budget, limits: t.limits, noted: t.memory.noted, ...(t.opts.cache ? { cache: t.opts.cache } : {}) });
        applySweep(t, plan, user, pid, dir, baseDir);
        if (plan.skip !== null) t.opts.log(`skipping ${path}: ${plan.skip instanceof Error ? plan.skip.message : String(plan.skip)}`);
      } catch (e) {
        t.opts.log(`skipping ${path}: ${e instanceof Error ? e.message : String(e)}`);
      } finally {
        dir?.close();
      }
    }
  } finally {
    baseDir.close();
  }
}

/** Takes a present sentinel aside and reads it (not when it is the unchanged half-done one remembered). */
function observeSentinel(dir: UserDir, file: string, remembered?: Map<string, RevokeProgress>): { s: ObservedSentinel; resume: RevokeProgress | null } | null {
  if (!dir.has(file) && !dir.has(`${file}.sweeping`)) return null;
  const taken = takeSentinel(dir, file);
  if (taken === null) return null;
  const stamp = dir.stamp(taken);
  const r = remembered?.get(join(dir.path, taken));
  const resume = r !== undefined && stamp !== null && r.stamp === stamp ? r : null;
  return { s: { taken, stamp, text: resume !== null ? { ok: true, value: null } : loadFact(() => dir.read(taken)) }, resume };
}

function observe(t: Tick, user: PasswdEntry, homeFd: number, base: string, pid: string, dir: UserDir): ObservedProject {
  const read = fdReader(homeFd, user.home, user.uid, dir);
  const leave = observeSentinel(dir, FILES.leavePending);
  const revoke = observeSentinel(dir, FILES.revokePending, t.memory.progress);
  return {
    user,
    pid,
    path: dir.path,
    leave: leave?.s ?? null,
    revoke: revoke?.s ?? null,
    resume: revoke?.resume ?? null,
    state: loadFact(() => loadProject(base, pid, read)),
    // read only when there is a sentinel to sweep (the key is not needed otherwise)
    identity: leave === null && revoke === null ? null : loadFact(() => read(join(user.home, IDENTITY_PUB))),
  };
}

/** The plan's actions, in order, through the directory fds and the stores. */
function applySweep(t: Tick, plan: SweepPlan, user: PasswdEntry, pid: string, dir: UserDir, baseDir: UserDir): void {
  const { stores, log } = t.opts;
  if (plan.changed) t.changed.add(pid);
  for (const a of plan.actions) {
    switch (a.do) {
      case 'store-leave':
        stores.envelopes.put('leave', a.env, user.uid);
        t.res.leaves++;
        break;
      case 'store-revoke':
        stores.envelopes.put('revoke', a.env, user.uid);
        t.res.revokes++;
        break;
      case 'reject':
        t.res.rejected++;
        dir.rename(a.taken, `${a.file}.rejected`);
        log(`rejected ${join(dir.path, a.file)} (from ${user.name}): ${a.why}`);
        break;
      case 'unlink':
        dir.unlink(a.name);
        break;
      case 'log':
        log(a.line);
        break;
      case 'log-once':
        if (t.memory.noted.size > 10_000) t.memory.noted.clear();
        t.memory.noted.add(a.key);
        log(a.line);
        break;
      case 'forget-progress':
        t.memory.progress.delete(a.key);
        break;
      case 'remember-progress':
        if (t.memory.progress.size > 10_000) t.memory.progress.clear();
        t.memory.progress.set(a.key, a.progress);
        break;
      case 'remove-dir-if-empty': {
        // only while the name still holds the directory that was swept
        const st = fstatat(baseDir.fd, pid);
        if (dir.names().length === 0 && st !== null && st.ino === fstatFd(dir.fd).ino) unlinkat(baseDir.fd, pid, { dir: true });
        break;
      }
      case 'tombstone':
        if (stores.projects.putTombstone(a.record)) t.res.tombstones++;
        break;
    }
  }
}

export function reapOnce(env: Env, nowMs: number, retentionS: number, log: (m: string) => void): number {
  const removed = reapEnvelopes(paths.gitbackEnvelopes(env), nowMs, retentionS);
  for (const f of removed) log(`reaped ${f} (older than ${Math.round(retentionS / 86400)} days)`);
  return removed.length;
}
