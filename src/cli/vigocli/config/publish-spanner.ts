/**
 * A spanner-mode publish (docs/spanner.md "Publish in spanner mode"): the stacks go into
 * the ops-puddle's `stacks` gitback project, and every bolt's stacks watcher moves the new
 * head into its `.live/`. Validate on this bolt; clone the project's bare repo (file://, on
 * this host) into a temp work tree; mirror the stacks directory into it delete-aware;
 * commit (nothing changed: no commit, said so); push; wait until this bolt's config version
 * rises and every live bolt serves the new head, 30 s at most, naming the bolts that did
 * not. Returns data; the verb prints it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { VigoError } from '../../../platform/errors.js';
import type { BoltStacks, SpannerStatus } from '../spanner/types.js';
import type { Problem } from './validate.js';

export const PUBLISH_WAIT_MS = 30_000;
const POLL_MS = 250;

export type Call = <T>(method: string, path: string, body?: unknown) => Promise<T>;

export interface SpannerPublishStatus extends SpannerStatus {
  stacks?: (BoltStacks & { bare: string | null }) | null;
}

export interface BoltReached {
  bolt_id: string;
  reached: boolean;
  config_version: number | null;
  commit: string | null;
  /** why it did not reach the commit (unreachable, refused head), null when it did */
  why: string | null;
}

export interface SpannerPublishResult {
  mode: 'spanner';
  project_id: string;
  commit: string;
  /** false: the stacks matched the head already; nothing was committed or pushed */
  changed: boolean;
  files: number;
  /** this bolt's config version before and after */
  version_before: number;
  version: number;
  bolts: BoltReached[];
  waited_ms: number;
}

export interface SpannerPublishOptions {
  call: Call;
  status: SpannerPublishStatus;
  /** env for git (PATH, HOME) */
  env: NodeJS.ProcessEnv;
  progress?: (line: string) => void;
  waitMs?: number;
  now?: () => number;
}

function gitIn(cwd: string, env: NodeJS.ProcessEnv): (...args: string[]) => string {
  return (...args) => {
    try {
      return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...env, GIT_TERMINAL_PROMPT: '0', LANG: 'C' }, timeout: 120_000 });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new VigoError('E_SPANNER_PUBLISH', `git ${args[0]} in ${cwd}: ${(err.stderr ?? '').trim() || err.message}; nothing was published`, { hint: 'see the git message above; the stacks project is unchanged unless the push went through' });
    }
  };
}

/** Make `dst` (a work tree) hold exactly what a publish of `src` would copy: dotfiles (and .git) left alone. */
export function mirrorInto(src: string, dst: string): number {
  for (const n of readdirSync(dst)) if (n !== '.git') rmSync(join(dst, n), { recursive: true, force: true });
  let files = 0;
  cpSync(src, dst, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (from) => {
      const rel = from.slice(src.length).replace(/^\/+/, '');
      if (rel === '') return true;
      if (rel.split('/').some((seg) => seg.startsWith('.'))) return false;
      if (lstatSync(from).isFile()) files++;
      return true;
    },
  });
  return files;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function spannerPublish(o: SpannerPublishOptions): Promise<SpannerPublishResult> {
  const s = o.status;
  const now = o.now ?? Date.now;
  const say = o.progress ?? (() => undefined);
  const st = s.stacks;
  if (st === undefined || st === null || st.project_id === null || st.bare === null) {
    throw new VigoError('E_SPANNER_PUBLISH', `bolt ${s.bolt_id} of spanner ${s.spanner_id} tracks no stacks project yet: a spanner-mode publish commits into the ops-puddle's stacks project; nothing was published`, {
      hint: 'found it with `vigocli spanner stacks init` (first bolt) or track it with `vigocli spanner stacks join`; or run `vigocli config publish --bolt-only` to publish to this bolt alone',
    });
  }
  const v = await o.call<{ valid: boolean; stacks_dir: string; problems: Problem[] }>('POST', '/api/v1/config/validate');
  if (!v.valid) {
    throw new VigoError('E_STACKS_INVALID', `stacks are invalid; nothing was published:\n${v.problems.map((p) => `  ${p.file}:${p.line ?? '?'}: ${p.message}`).join('\n')}`, { hint: 'fix the files named above, then run `vigocli config validate` again' });
  }
  const before = await o.call<{ version: number }>('GET', '/api/v1/config/version');
  const tmp = mkdtempSync(join(tmpdir(), 'vigo-publish-'));
  let commit: string;
  let changed = false;
  let files: number;
  try {
    const work = join(tmp, 'stacks');
    say(`cloning the stacks project ${st.project_id.slice(0, 16)}… from ${st.bare}`);
    gitIn(tmp, o.env)('clone', '-q', `file://${st.bare}`, work);
    const git = gitIn(work, o.env);
    // the branch the watchers serve (stacks-watcher.ts stacksHead): the bare repo's HEAD when it
    // resolves, else main, else master, else the only one; a clone whose HEAD dangles checks out nothing
    const remote = git('for-each-ref', '--format=%(refname:strip=3)', 'refs/remotes/origin/').split('\n').filter((b) => b !== '' && b !== 'HEAD');
    const sym = spawnSync('git', ['symbolic-ref', '-q', '--short', 'refs/remotes/origin/HEAD'], { cwd: work, encoding: 'utf8', env: o.env }).stdout.trim().replace(/^origin\//, '');
    const branch = [sym, 'main', 'master'].find((b) => b !== '' && remote.includes(b)) ?? (remote.length === 1 ? remote[0]! : 'main');
    if (remote.includes(branch)) git('checkout', '-q', '-B', branch, `origin/${branch}`);
    else git('symbolic-ref', 'HEAD', `refs/heads/${branch}`);
    files = mirrorInto(v.stacks_dir, work);
    git('add', '-A');
    const hasHead = spawnSync('git', ['rev-parse', '--verify', '-q', 'HEAD^{commit}'], { cwd: work, stdio: 'ignore', env: o.env }).status === 0;
    // `git diff --cached --quiet` exits 1 when something is staged
    const staged = spawnSync('git', ['diff', '--cached', '--quiet'], { cwd: work, stdio: 'ignore', env: o.env, timeout: 60_000 }).status;
    if (staged !== 0 && staged !== 1) throw new VigoError('E_SPANNER_PUBLISH', `git diff in ${work} failed (${staged}); nothing was published`);
    if (staged === 1 || !hasHead) {
      git('-c', `user.name=vigocli on ${s.bolt_id}`, '-c', `user.email=root@${hostname()}`, 'commit', '-q', '--allow-empty', '-m', `config publish on bolt ${s.bolt_id}`);
      say(`pushing to ${st.bare}`);
      git('push', '-q', 'origin', `HEAD:refs/heads/${git('symbolic-ref', '--short', 'HEAD').trim()}`);
      changed = true;
    }
    commit = git('rev-parse', 'HEAD').trim();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  if (!changed) {
    return { mode: 'spanner', project_id: st.project_id, commit, changed, files, version_before: before.version, version: before.version, bolts: [], waited_ms: 0 };
  }
  return waitForBolts(o, st.project_id, commit, files, before.version, now, say);
}

async function waitForBolts(o: SpannerPublishOptions, pid: string, commit: string, files: number, versionBefore: number, now: () => number, say: (l: string) => void): Promise<SpannerPublishResult> {
  const t0 = now();
  const deadline = t0 + (o.waitMs ?? PUBLISH_WAIT_MS);
  let version = versionBefore;
  say(`waiting for every bolt to serve ${commit.slice(0, 12)} (at most ${Math.round((deadline - t0) / 1000)} s)`);
  let bolts: BoltReached[] = [];
  for (;;) {
    const v = await o.call<{ version: number }>('GET', '/api/v1/config/version');
    version = v.version;
    const s = await o.call<SpannerPublishStatus>('GET', '/api/v1/spanner/status');
    bolts = (s.bolts ?? [])
      .filter((b) => b.status === 'live')
      .map((b) => {
        const reached = b.stacks?.commit === commit;
        const why = reached ? null : b.health !== 'ok' ? `${b.health}${b.error ? `: ${b.error}` : ''}` : b.stacks === null ? 'reports no stacks watcher' : b.stacks.error?.commit === commit ? `refused the head: ${b.stacks.error.problem}` : `still at ${b.stacks.commit?.slice(0, 12) ?? 'nothing'}`;
        return { bolt_id: b.bolt_id, reached, config_version: b.config_version, commit: b.stacks?.commit ?? null, why };
      });
    const refusedHere = s.stacks?.error?.commit === commit;
    if ((version > versionBefore && bolts.every((b) => b.reached)) || refusedHere || now() >= deadline) break;
    await sleep(POLL_MS);
  }
  const result: SpannerPublishResult = { mode: 'spanner', project_id: pid, commit, changed: true, files, version_before: versionBefore, version, bolts, waited_ms: now() - t0 };
  const missing = bolts.filter((b) => !b.reached);
  if (missing.length > 0 || version <= versionBefore) {
    const secs = Math.round((o.waitMs ?? PUBLISH_WAIT_MS) / 1000);
    throw new VigoError('E_PUBLISH_TIMEOUT', `commit ${commit.slice(0, 12)} is in the stacks project, but within ${secs} s ${missing.length > 0 ? `these bolts did not reach it: ${missing.map((b) => `${b.bolt_id} (${b.why})`).join('; ')}` : 'this bolt did not load it'}`, {
      hint: 'the commit stays the stacks head: a reachable bolt syncs it on its own (a down one at restart); see `vigocli spanner status` and `vigocli spanner bolt show <id>` for the refusal, and push a fixed commit with `vigocli config publish`',
    });
  }
  return result;
}
