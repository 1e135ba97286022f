/**
 * Publishing a working repo: the `swarm` remote and `git push --all` / `--tags` through
 * gitback://, used by `project init` and `project push`.
 */
import { spawnSync } from 'node:child_process';
import { basename } from 'node:path';
import { VigoError } from '../../platform/errors.js';
import { canonicalUrl } from '../url.js';
import { gate, socketPath, socketPresent, userBase, type GitbackContext } from '../context.js';
import { resolveProject } from '../state.js';

export function workTreeTop(dir: string): string | null {
  const r = spawnSync('git', ['-C', dir, 'rev-parse', '--show-toplevel'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function swarmRemoteUrl(top: string): string | null {
  const r = spawnSync('git', ['-C', top, 'remote', 'get-url', 'swarm'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

function gitOrThrow(ctx: GitbackContext, args: string[], what: string): void {
  const r = spawnSync('git', args, { stdio: ['ignore', 'inherit', 'inherit'], env: ctx.env });
  if (r.status !== 0) {
    throw new VigoError('E_PUSH_FAILED', `${what} failed (git exited ${r.status ?? r.signal ?? 'abnormally'})`, {
      hint: 'see git’s message above; fix it and re-run `vigo swarm gitback project push`',
    });
  }
}

/** Ensures `swarm` points at the project (adding or re-pointing it); returns a note. */
export function ensureSwarmRemote(ctx: GitbackContext, top: string, pid: string, handle: string): string {
  const want = canonicalUrl(pid, handle);
  const have = swarmRemoteUrl(top);
  if (have === want) return `Remote 'swarm' → ${want}`;
  if (have === null) {
    gitOrThrow(ctx, ['-C', top, 'remote', 'add', 'swarm', want], 'git remote add swarm');
    return `Remote 'swarm' → ${want}`;
  }
  gitOrThrow(ctx, ['-C', top, 'remote', 'set-url', 'swarm', want], 'git remote set-url swarm');
  return `Remote 'swarm' re-pointed: ${have} → ${want}`;
}

/** Whether `push --all` / `--tags` has anything to send (a fresh `git init` has no branch). */
export function hasRefsToPush(top: string): boolean {
  const r = spawnSync('git', ['-C', top, 'for-each-ref', '--count=1', '--format=%(refname)', 'refs/heads', 'refs/tags'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '';
}

export function pushAll(ctx: GitbackContext, top: string): void {
  gitOrThrow(ctx, ['-C', top, 'push', 'swarm', '--all'], 'git push swarm --all');
  gitOrThrow(ctx, ['-C', top, 'push', 'swarm', '--tags'], 'git push swarm --tags');
}

export function handleMismatchWarning(top: string, handle: string): string | null {
  const b = basename(top);
  return b === handle ? null : `warning: the handle '${handle}' does not match the work tree's directory name '${b}'`;
}

/** `project push [<handle>] [--repo <path>]`: ensure the remote, then push --all and --tags. */
export function projectPush(ctx: GitbackContext, arg: string | undefined, opts: { repo?: string }): Promise<void> {
  return Promise.resolve().then(() => pushProject(ctx, arg, opts));
}

function pushProject(ctx: GitbackContext, arg: string | undefined, opts: { repo?: string }): void {
  gate(ctx);
  const where = opts.repo ?? ctx.cwd;
  const top = workTreeTop(where);
  if (top === null) throw new VigoError('E_NOT_A_WORK_TREE', `${where} is not a git work tree`, { hint: 'run it inside the work tree, or pass --repo <path>' });
  if (!socketPresent(ctx)) {
    throw new VigoError('E_DAEMON_DOWN', `the gitback helper daemon is not running (no socket at ${socketPath(ctx)})`, { hint: 'start the envoy agent (`vigo agent run`, as root)' });
  }
  if (arg !== undefined) {
    let s = resolveProject(userBase(ctx), arg);
    // a tombstoned project pushes to its successor (re-found / reanchor moved it)
    if (s.config.tombstoned_at !== null && s.config.successor !== null) s = resolveProject(userBase(ctx), s.config.successor);
    ctx.out(ensureSwarmRemote(ctx, top, s.config.project_id, s.config.handle) + '\n');
  } else if (swarmRemoteUrl(top) === null) {
    throw new VigoError('E_NO_REMOTE', `${top} has no 'swarm' remote`, { hint: 'name the project: vigo swarm gitback project push <handle>' });
  }
  pushAll(ctx, top);
  ctx.out(`✓ Pushed ${top} to the swarm.\n`);
}
