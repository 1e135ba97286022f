/**
 * The envoy-wide view behind `vigo swarm gitback status`: every user's project state
 * joined with the bare repos, their refs and sizes, and the queued envelopes. The helper
 * daemon (root) computes it for everyone; without the daemon the CLI computes it from
 * what the caller can see and marks it partial.
 */
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths, type Env } from '../platform/paths.js';
import { countEnvelopes } from './envelopes.js';
import { FILES, listProjectIds, loadProject, type Reader } from './state.js';

export interface StatusProject {
  project_id: string;
  handle: string | null;
  scope: string | null;
  holders: number;
  tombstoned: boolean;
  /**
   * The local bare repo, or null when there is none. `unsized`: the repo exists but this
   * scan was over its budget before reaching it and no earlier figure is known.
   */
  bare: { refs: number; bytes: number; unsized?: true } | null;
}

export interface EnvoyStatus {
  base: string;
  projects: StatusProject[];
  bare_repos: number;
  bare_bytes: number;
  envelopes: { revokes: number; leaves: number };
  /** true when computed without the daemon (only the caller's state, maybe no bare repos) */
  partial: boolean;
  /** what this scan could not read, one phrase each (a partial scan by a user: the root-only dirs) */
  skipped?: string[];
  /** bare repos whose figures are not from this scan (earlier figures, or `unsized`) */
  unsized_repos?: number;
}

/** A walk over more entries than `left` stops with this (a cost bound, not a fault). */
export class BudgetExceeded extends Error {}

/** Bytes under path (lstat, no symlink followed); `budget.left` entries at most, else BudgetExceeded. */
export function dirBytes(path: string, budget: { left: number } = { left: Infinity }): number {
  if (--budget.left < 0) throw new BudgetExceeded(path);
  let total = 0;
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.size;
  for (const n of readdirSync(path)) total += dirBytes(join(path, n), budget);
  return total;
}

/**
 * How many refs a bare repo holds, read from the files (loose refs under refs/, plus
 * packed-refs) instead of running `git for-each-ref`: a scan of a hundred repos must not
 * start a hundred processes. Walks count against `budget` like dirBytes.
 */
export function countRefs(repo: string, budget: { left: number } = { left: Infinity }): number {
  const names = new Set<string>();
  const walk = (dir: string, prefix: string) => {
    for (const n of readdirSync(dir)) {
      if (--budget.left < 0) throw new BudgetExceeded(dir);
      const st = lstatSync(join(dir, n));
      if (st.isDirectory()) walk(join(dir, n), `${prefix}${n}/`);
      else if (st.isFile() && !n.endsWith('.lock')) names.add(`${prefix}${n}`);
    }
  };
  if (existsSync(join(repo, 'refs'))) walk(join(repo, 'refs'), 'refs/');
  let packed = '';
  try {
    packed = readFileSync(join(repo, 'packed-refs'), 'utf8');
  } catch {
    /* no packed refs */
  }
  for (const line of packed.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
    const sp = line.indexOf(' ');
    if (sp > 0) names.add(line.slice(sp + 1));
  }
  return names.size;
}

export interface Holder {
  home: string;
  read: Reader;
}

/** Figures of one bare repo from a scan, kept by the caller between scans. */
export interface RepoFigures {
  refs: number;
  bytes: number;
  /** ms since the epoch */
  at: number;
}

export interface CollectOptions {
  /** bare repos sized (du + for-each-ref) per call at most; the stalest first */
  maxRepos?: number;
  /** directory entries walked per call at most, across all repos */
  maxEntries?: number;
  /** figures from earlier calls, by project id: read for repos not sized now, updated for those sized */
  figures?: Map<string, RepoFigures>;
  /** when the figures sized now were taken (the caller's clock) */
  nowMs: number;
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code ?? (e instanceof Error ? e.message : String(e));
}

/**
 * The envoy-wide figures. As root (the daemon) it sees everything; as a user (partial),
 * exactly what that user can read: unreadable directories are skipped and named in
 * `skipped`, never fatal.
 */
export function collectStatus(env: Env, holders: Holder[], partial: boolean, opts: CollectOptions): EnvoyStatus {
  const byId = new Map<string, StatusProject>();
  const skipped: string[] = [];
  let pendingRevokes = 0;
  let pendingLeaves = 0;
  for (const h of holders) {
    const base = join(h.home, '.vigo-gitback');
    let ids: string[] = [];
    try {
      ids = listProjectIds(base);
    } catch (e) {
      if (partial) skipped.push(`${base} (${reason(e)})`);
      continue;
    }
    for (const pid of ids) {
      try {
        pendingRevokes += queuedEnvelopes(h.read(join(base, pid, FILES.revokePending)));
        pendingLeaves += queuedEnvelopes(h.read(join(base, pid, FILES.leavePending)));
        const s = loadProject(base, pid, h.read);
        if (!s) continue;
        const e = byId.get(pid) ?? { project_id: pid, handle: s.config.handle, scope: s.config.scope, holders: 0, tombstoned: false, bare: null };
        e.holders++;
        e.tombstoned ||= s.config.tombstoned_at !== null;
        byId.set(pid, e);
      } catch (e) {
        /* unreadable or unsafe state is not counted */
        if (partial) skipped.push(`project ${pid.slice(0, 12)}… in ${base} (${e instanceof Error ? e.message : String(e)})`);
      }
    }
  }
  const projectsDir = paths.gitbackProjects(env);
  let names: string[] = [];
  try {
    names = existsSync(projectsDir) ? readdirSync(projectsDir) : [];
  } catch (e) {
    skipped.push(`${projectsDir} (bare repos: ${reason(e)}; readable by root only)`);
  }
  const repos = names.flatMap((n) => {
    const m = /^([0-9a-f]{64})\.git$/.exec(n);
    return m ? [{ pid: m[1] as string, repo: join(projectsDir, n) }] : [];
  });
  // bounded: size the repos never sized, then the stalest, up to maxRepos / maxEntries
  const figures = opts.figures ?? new Map<string, RepoFigures>();
  const order = [...repos].sort((a, b) => (figures.get(a.pid)?.at ?? -1) - (figures.get(b.pid)?.at ?? -1));
  const budget = { left: opts.maxEntries ?? Infinity };
  let sizedNow = 0;
  const now = opts.nowMs;
  const fresh = new Set<string>();
  for (const { pid, repo } of order) {
    if (sizedNow >= (opts.maxRepos ?? Infinity) || budget.left <= 0) break;
    sizedNow++;
    try {
      const bytes = dirBytes(repo, budget);
      figures.set(pid, { refs: countRefs(repo, budget), bytes, at: now });
      fresh.add(pid);
    } catch (e) {
      if (!(e instanceof BudgetExceeded)) skipped.push(`bare repo ${pid.slice(0, 12)}… (${reason(e)})`);
    }
  }
  let bareBytes = 0;
  for (const { pid } of repos) {
    const f = figures.get(pid);
    bareBytes += f?.bytes ?? 0;
    const e = byId.get(pid) ?? { project_id: pid, handle: null, scope: null, holders: 0, tombstoned: false, bare: null };
    e.bare = f ? { refs: f.refs, bytes: f.bytes } : { refs: 0, bytes: 0, unsized: true };
    byId.set(pid, e);
  }
  const present = new Set(repos.map((r) => r.pid));
  for (const pid of figures.keys()) if (!present.has(pid)) figures.delete(pid);
  const store = paths.gitbackEnvelopes(env);
  let stored = { revokes: 0, leaves: 0 };
  try {
    stored = countEnvelopes(store);
  } catch (e) {
    skipped.push(`${store} (envelope store: ${reason(e)}; readable by root only; only your own queued sentinels are counted)`);
  }
  return {
    base: paths.gitbackBase(env),
    projects: [...byId.values()].sort((a, b) => (a.handle ?? '~').localeCompare(b.handle ?? '~') || a.project_id.localeCompare(b.project_id)),
    bare_repos: repos.length,
    bare_bytes: bareBytes,
    envelopes: { revokes: stored.revokes + pendingRevokes, leaves: stored.leaves + pendingLeaves },
    partial,
    ...(skipped.length > 0 ? { skipped } : {}),
    ...(repos.length - fresh.size > 0 ? { unsized_repos: repos.length - fresh.size } : {}),
  };
}

/** `status` prints KB/MB (as the page does there), `gc-orphans` KiB/MiB (as it does there). */
export function formatBytes(n: number, iec = false): string {
  if (n < 1024) return `${n} B`;
  const units = iec ? ['KiB', 'MiB', 'GiB', 'TiB'] : ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** `present`: the daemon answered; `silent`: the socket file exists but nothing answers; `absent`: no socket. */
export type SocketState = 'present' | 'silent' | 'absent';

export function formatStatus(s: EnvoyStatus, socketPath: string, socket: SocketState): string {
  const lines = ['gitback status', `  base:                ${s.base}`];
  const withBare = s.projects.filter((p) => p.bare !== null).length;
  lines.push(`  projects:            ${s.projects.length === 0 ? 'none' : `${s.projects.length} (${withBare} with a local bare repo)`}`);
  lines.push(`  bare repos:          ${formatBytes(s.bare_bytes)} on disk`);
  lines.push(`  envelopes:           ${s.envelopes.revokes} revoke(s), ${s.envelopes.leaves} leave(s) queued`);
  const handles = s.projects.map((p) => p.handle);
  for (const p of s.projects) {
    // two projects with one handle (a re-found, another founder's) are told apart by their id
    const twin = p.handle !== null && handles.filter((h) => h === p.handle).length > 1;
    const name = (p.handle === null ? `${p.project_id.slice(0, 12)}…` : twin ? `${p.handle} (${p.project_id.slice(0, 8)}…)` : p.handle).padEnd(24);
    const scope = (p.scope ?? '(no holder)').padEnd(13);
    const bare = p.bare ? `${p.bare.refs} ref(s), ${formatBytes(p.bare.bytes)}` : 'no bare repo yet (awaiting first push or DR catch-up)';
    lines.push(`    ${name} ${scope} ${bare}${p.tombstoned ? '  [tombstoned]' : ''}`);
  }
  const socketLine = { present: 'socket present', silent: 'socket present, not answering (the agent is stopped, wedged or gone: check and restart it)', absent: 'socket absent' }[socket];
  lines.push(`  helper daemon:       ${socketLine} (${socketPath})`);
  if (s.partial) {
    lines.push('  partial data: the helper daemon is not reachable; the counts above come from a local scan of what this user can see and may be incomplete (run as root, or restart the agent, for the full picture)');
  }
  return lines.join('\n') + '\n';
}

/**
 * How many envelopes a pending sentinel holds: revoke.pending is an array (several revokes
 * before one sweep), leave.pending one envelope. Unreadable text counts as one.
 */
export function queuedEnvelopes(text: string | null): number {
  if (text === null) return 0;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) ? v.length : 1;
  } catch {
    return 1;
  }
}
