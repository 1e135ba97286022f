/** Envoy-wide verbs: `status`, `purge --yes`, `gc-orphans [--yes]`. */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { paths } from '../../platform/paths.js';
import { localGate, requireRoot, socketPath, type GitbackContext } from '../context.js';
import { daemonRequest, daemonTimeoutMs } from '../remote-helper.js';
import { collectStatus, dirBytes, formatBytes, formatStatus, type EnvoyStatus, type SocketState } from '../status.js';
import { plainReader, listProjectIds, FILES } from '../state.js';
import { readPasswd } from '../passwd.js';

export async function gitbackStatus(ctx: GitbackContext): Promise<void> {
  localGate(ctx);
  const sock = socketPath(ctx);
  let status: EnvoyStatus | null = null;
  let socket: SocketState = existsSync(sock) ? 'present' : 'absent';
  const timeoutMs = daemonTimeoutMs(ctx.env); // a bad VIGO_GITBACK_TIMEOUT is an error, not a silent daemon
  if (socket === 'present') {
    try {
      const { sock: s, resp } = await daemonRequest(sock, { v: 1, op: 'status' }, { timeoutMs });
      s.destroy();
      if (resp.ok) status = resp.status as EnvoyStatus;
    } catch {
      socket = 'silent';
    }
  }
  status ??= collectStatus(ctx.env, [{ home: paths.gitbackUserDir(ctx.env).replace(/\/\.vigo-gitback$/, ''), read: plainReader }], true, { nowMs: ctx.now() });
  ctx.out(formatStatus(status, sock, socket));
}

function pendingSentinels(base: string): string[] {
  const out: string[] = [];
  for (const pid of listProjectIds(base)) {
    for (const f of [FILES.leavePending, FILES.revokePending]) if (existsSync(join(base, pid, f))) out.push(join(base, pid, f));
  }
  return out;
}

export function gitbackPurge(ctx: GitbackContext, opts: { yes?: boolean }): void {
  localGate(ctx);
  const userDir = paths.gitbackUserDir(ctx.env);
  const targets: string[] = [];
  if (existsSync(userDir)) targets.push(userDir);
  if (ctx.uid === 0 && existsSync(paths.gitbackProjects(ctx.env))) targets.push(paths.gitbackProjects(ctx.env));
  const pending = existsSync(userDir) ? pendingSentinels(userDir) : [];
  if (targets.length === 0) {
    ctx.out('nothing to purge: no local gitback state\n');
    return;
  }
  if (opts.yes !== true) {
    ctx.out(`would wipe:\n${targets.map((t) => `  ${t}`).join('\n')}\n`);
    if (ctx.uid !== 0) ctx.out(`(root-owned bare repos under ${paths.gitbackProjects(ctx.env)} survive; rerun under sudo to scrub those too)\n`);
    ctx.out('dry-run — nothing deleted. Re-run with --yes to wipe.\n');
    return;
  }
  for (const t of targets) {
    rmSync(t, { recursive: true, force: true });
    ctx.out(`✓ wiped ${t}\n`);
  }
  if (ctx.uid !== 0) ctx.out(`root-owned bare repos under ${paths.gitbackProjects(ctx.env)} survive; rerun under sudo to scrub those too\n`);
  if (pending.length > 0) {
    ctx.out(`note: ${pending.length} pending envelope sentinel(s) were wiped before the agent swept them (${pending.map((p) => p.split('/').slice(-2).join('/')).join(', ')});\n` +
      '      those LEAVE/REVOKE envelopes never reached the envelope store or any peer — re-issue them (project leave / revoke) if peers must learn of them.\n');
  }
}

function ago(ms: number): string {
  const d = Math.floor(ms / 86_400_000);
  if (d > 0) return `${d}d ago`;
  const h = Math.floor(ms / 3_600_000);
  if (h > 0) return `${h}h ago`;
  return `${Math.max(0, Math.floor(ms / 60_000))}m ago`;
}

/** Bare repos no passwd user holds a ~/.vigo-gitback/<pid>/project.json for. */
export function findOrphans(ctx: GitbackContext): string[] {
  const passwdFile = ctx.passwdFile ?? '/etc/passwd';
  const dir = paths.gitbackProjects(ctx.env);
  if (!existsSync(dir)) return [];
  const held = new Set<string>();
  for (const u of readPasswd(passwdFile)) {
    const base = join(u.home, '.vigo-gitback');
    try {
      for (const pid of listProjectIds(base)) if (existsSync(join(base, pid, FILES.project))) held.add(pid);
    } catch {
      /* unreadable home: holds nothing we can see */
    }
  }
  return readdirSync(dir)
    .map((n) => /^([0-9a-f]{64})\.git$/.exec(n)?.[1])
    .filter((pid): pid is string => pid !== undefined && !held.has(pid))
    .sort();
}

export function gitbackGcOrphans(ctx: GitbackContext, opts: { yes?: boolean }): void {
  localGate(ctx);
  requireRoot(ctx, 'gc-orphans');
  const dir = paths.gitbackProjects(ctx.env);
  const orphans = findOrphans(ctx);
  if (orphans.length === 0) {
    ctx.out(`no orphan bare repos under ${dir}/\n`);
    return;
  }
  ctx.out(`${orphans.length} orphan bare repo(s) under ${dir}/ (no user in /etc/passwd holds the project):\n`);
  const now = ctx.now() * 1000; // ms, for ago()
  for (const pid of orphans) {
    const repo = join(dir, `${pid}.git`);
    ctx.out(`  ${pid}  ${formatBytes(dirBytes(repo), true).padStart(10)}  last-modified ${ago(now - statSync(repo).mtimeMs)}  ${repo}\n`);
  }
  if (opts.yes !== true) {
    ctx.out('\ndry-run — nothing deleted. Re-run with --yes to remove these bare repos.\n');
    return;
  }
  for (const pid of orphans) rmSync(join(dir, `${pid}.git`), { recursive: true, force: true });
  ctx.out(`\n✓ removed ${orphans.length} orphan bare repo(s)\n`);
}
