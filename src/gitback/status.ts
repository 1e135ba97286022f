/**
 * The envoy-wide view behind `vigo swarm gitback status`: every user's project state
 * joined with the bare repos, their refs and sizes, and the queued envelopes. The helper
 * daemon (root) computes it for everyone; without the daemon the CLI computes it from
 * what the caller can see and marks it partial.
 */
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { paths, type Env } from '../platform/paths.js';
import { countEnvelopes } from './envelopes.js';
import { snapshotRefs } from './daemon/git.js';
import { FILES, listProjectIds, loadProject, type Reader } from './state.js';

export interface StatusProject {
  project_id: string;
  handle: string | null;
  scope: string | null;
  holders: number;
  tombstoned: boolean;
  bare: { refs: number; bytes: number } | null;
}

export interface EnvoyStatus {
  base: string;
  projects: StatusProject[];
  bare_repos: number;
  bare_bytes: number;
  envelopes: { revokes: number; leaves: number };
  /** true when computed without the daemon (only the caller's state, maybe no bare repos) */
  partial: boolean;
}

export function dirBytes(path: string): number {
  let total = 0;
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.size;
  for (const n of readdirSync(path)) total += dirBytes(join(path, n));
  return total;
}

export interface Holder {
  home: string;
  read: Reader;
}

export function collectStatus(env: Env, holders: Holder[], partial: boolean): EnvoyStatus {
  const byId = new Map<string, StatusProject>();
  let pendingRevokes = 0;
  let pendingLeaves = 0;
  for (const h of holders) {
    const base = join(h.home, '.vigo-gitback');
    let ids: string[] = [];
    try {
      ids = listProjectIds(base);
    } catch {
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
      } catch {
        /* unreadable or unsafe state is not counted */
      }
    }
  }
  const projectsDir = paths.gitbackProjects(env);
  let bareRepos = 0;
  let bareBytes = 0;
  let names: string[] = [];
  try {
    names = existsSync(projectsDir) ? readdirSync(projectsDir) : [];
  } catch {
    names = []; // not root: the 0700 tree is invisible
  }
  for (const n of names) {
    const m = /^([0-9a-f]{64})\.git$/.exec(n);
    if (!m) continue;
    const pid = m[1] as string;
    const repo = join(projectsDir, n);
    const bytes = dirBytes(repo);
    bareRepos++;
    bareBytes += bytes;
    const e = byId.get(pid) ?? { project_id: pid, handle: null, scope: null, holders: 0, tombstoned: false, bare: null };
    e.bare = { refs: snapshotRefs(repo).size, bytes };
    byId.set(pid, e);
  }
  const stored = countEnvelopes(paths.gitbackEnvelopes(env));
  return {
    base: paths.gitbackBase(env),
    projects: [...byId.values()].sort((a, b) => (a.handle ?? '~').localeCompare(b.handle ?? '~') || a.project_id.localeCompare(b.project_id)),
    bare_repos: bareRepos,
    bare_bytes: bareBytes,
    envelopes: { revokes: stored.revokes + pendingRevokes, leaves: stored.leaves + pendingLeaves },
    partial,
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
