/**
 * The stacks watcher of a bolt (docs/spanner.md "Stacks watcher"). In spanner mode the
 * stacks every bolt serves are the head of the ops-puddle's `stacks` gitback project, whose
 * bare repo this host's agent keeps at <gitback-base>/projects/<pid>.git (written by
 * `config publish` through file://, or by swarm replication). When that head moves, the
 * watcher exports the tree at the new head into a scratch directory, and publishes it
 * exactly as `config publish` does on a standalone server (stage a copy under `.live.d/`,
 * validate the copy, swap `.live` by one rename, reload: the config version rises). A head
 * that does not validate leaves `.live` untouched and is reported (commit, first problem)
 * until the head moves again; it is not retried.
 *
 * Cheap: each pass stats the repo's ref files (no process); a git process runs only when
 * they changed. Passes back off from MIN_POLL_MS to MAX_POLL_MS while nothing changes, and
 * an fs.watch on the ref directories cuts the wait short. Restart-safe: the commit last
 * synced is kept in the database, and the first pass syncs to whatever the head is now.
 */
import { execFile } from 'node:child_process';
import { type FSWatcher, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { checkProjectConfig, gitEnv, type GitHost } from '../../gitback/index.js';
import { parseStrictJson, projectId } from '../../trust/index.js';
import { VigoError } from '../../platform/errors.js';
import { getMeta, setMeta, type Db } from '../db.js';
import { StacksInvalidError } from './publish.js';

export const STACKS_HANDLE = 'stacks';
export const MIN_POLL_MS = 500;
export const MAX_POLL_MS = 8_000;
/** a git process of the watcher (rev-parse, archive) is killed past this */
const GIT_TIMEOUT_MS = 60_000;
const META_COMMIT = 'stacks_commit';

/** What `spanner status` and `bolt show` report of this bolt's stacks (null fields: not known yet). */
export interface StacksSyncState {
  /** the stacks project id (null: no ops-puddle stacks project is tracked on this host yet) */
  project_id: string | null;
  bare: string | null;
  /** the head `.live` was last synced to */
  commit: string | null;
  /** the head the watcher last saw */
  head: string | null;
  /** the newest head that did not validate (cleared when a head syncs) */
  error: { commit: string; problem: string } | null;
  /** why the last hand-over of this repo to swarm replication failed, while it is retried (null: handed over, or nothing to hand) */
  replicate_error: string | null;
}

export interface StacksWatcherOptions {
  db: Db;
  /** the ops-puddle dir (its .vigo-gitback/<pid>/project.json names the stacks project) */
  opsPuddleDir: string;
  /** <gitback-base>: bare repos under projects/<pid>.git */
  gitbackBase: string;
  /** scratch space for the exported tree (the server's data dir) */
  scratchDir: string;
  /** publish the exported tree (PolicyState.publishFrom): throws StacksInvalidError when it does not validate */
  publish: (dir: string) => Promise<{ version: number; files: number }>;
  log: (m: string) => void;
  /** PATH and HOME for git (the server's entry point passes its own) */
  gitHost: GitHost;
  /** after a head went live (the server pushes check-ins) */
  onLive?: (version: number, commit: string) => void;
  /**
   * Hands what reached the bare repo to swarm replication (the agent's root `replicate`,
   * signed by the service-account puddle): asked at start and whenever the refs move,
   * whatever wrote them. ok false: asked again later. Absent: nothing is replicated here.
   */
  replicate?: (projectId: string) => Promise<{ ok: boolean; lines: string[] }>;
  /** for the replicate retry (Date.now) */
  now?: () => number;
}

/** A replicate that failed (the agent down, no swarm yet) is asked again after this, doubling to REPLICATE_RETRY_MAX_MS. */
export const REPLICATE_RETRY_MS = 2_000;
export const REPLICATE_RETRY_MAX_MS = 60_000;

type Run = (cmd: string, args: string[], cwd?: string) => Promise<{ code: number; stdout: string; stderr: string }>;

/** A process with the host's PATH and HOME only (gitback's gitEnv), killed past GIT_TIMEOUT_MS. */
function runner(host: GitHost): Run {
  return (cmd, args, cwd) =>
    new Promise((resolve) => {
      execFile(cmd, args, { cwd, timeout: GIT_TIMEOUT_MS, maxBuffer: 1 << 20, env: gitEnv(host) }, (e, stdout, stderr) => {
        resolve({ code: e === null ? 0 : typeof e.code === 'number' ? e.code : 1, stdout: String(stdout), stderr: String(stderr) });
      });
    });
}

/**
 * The stacks project's id on this host: the ops-puddle project state (<ops-puddle-dir>/
 * .vigo-gitback/<pid>/project.json) whose handle is `stacks` and whose id is the one the
 * founder and handle give (sha256(ops-puddle pubkey ‖ "stacks")). Null: none yet. A state
 * file that does not parse, or names another id, is an error naming the file.
 */
export function findStacksProject(opsPuddleDir: string): string | null {
  const base = join(opsPuddleDir, '.vigo-gitback');
  if (!existsSync(base)) return null;
  for (const pid of readdirSync(base).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort()) {
    const file = join(base, pid, 'project.json');
    if (!existsSync(file)) continue;
    const c = checkProjectConfig(parseStrictJson(readFileSync(file, 'utf8'), { what: file, maxBytes: 256 * 1024 }), file);
    if (c.handle !== STACKS_HANDLE || c.tombstoned_at !== null) continue;
    const want = projectId(Buffer.from(c.founder, 'hex'), STACKS_HANDLE);
    if (c.project_id !== pid || want !== pid) throw new VigoError('E_STATE_MALFORMED', `${file}: the stacks project of founder ${c.founder.slice(0, 16)}… is ${want}, but this file names ${c.project_id} in the directory of ${pid}`, { hint: 're-run `vigocli spanner stacks join` after moving the directory away' });
    return pid;
  }
  return null;
}

export function stacksBareRepo(gitbackBase: string, pid: string): string {
  return join(gitbackBase, 'projects', `${pid}.git`);
}

/**
 * The branch the stacks live on: HEAD's when it resolves, else main, else master, else the
 * only branch there is. Null: no commit yet.
 */
export async function stacksHead(bare: string, run: Run): Promise<{ ref: string; commit: string } | null> {
  const git = (args: string[]) => run('git', args);
  const r = await git(['--git-dir', bare, 'for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads/']);
  if (r.code !== 0) return null;
  const heads = new Map<string, string>();
  for (const line of r.stdout.split('\n')) {
    const m = /^([0-9a-f]{40,64}) (refs\/heads\/\S+)$/.exec(line);
    if (m) heads.set(m[2]!, m[1]!);
  }
  const sym = await git(['--git-dir', bare, 'symbolic-ref', '-q', 'HEAD']);
  const pick = [sym.code === 0 ? sym.stdout.trim() : '', 'refs/heads/main', 'refs/heads/master'].find((ref) => heads.has(ref)) ?? (heads.size === 1 ? [...heads.keys()][0]! : null);
  return pick === null ? null : { ref: pick, commit: heads.get(pick)! };
}

/** The stat signature of a bare repo's refs: changes whenever a ref is written. */
function refSignature(bare: string): string {
  const parts: string[] = [];
  for (const p of [bare, join(bare, 'refs', 'heads'), join(bare, 'packed-refs'), join(bare, 'HEAD')]) {
    try {
      const s = statSync(p, { bigint: true });
      parts.push(`${s.ino}:${s.mtimeNs}:${s.size}`);
    } catch {
      parts.push('-');
    }
  }
  return parts.join(' ');
}

export class StacksWatcher {
  private st: StacksSyncState;
  private signature: string | null = null;
  private delay = MIN_POLL_MS;
  private timer: NodeJS.Timeout | null = null;
  private watchers: FSWatcher[] = [];
  private watching: string | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly run: Run;
  /** the refs moved (or the bolt started) since replication was last asked successfully */
  private replicateWanted = true;
  private replicating: Promise<void> | null = null;
  private replicateAt = 0;
  private replicateBackoff = REPLICATE_RETRY_MS;

  constructor(private readonly o: StacksWatcherOptions) {
    this.run = runner(o.gitHost);
    this.st = { project_id: null, bare: null, commit: getMeta(o.db, META_COMMIT), head: null, error: null, replicate_error: null };
  }

  state(): StacksSyncState {
    return { ...this.st, error: this.st.error && { ...this.st.error } };
  }

  start(): void {
    // what an export interrupted by a crash left behind
    if (existsSync(this.o.scratchDir)) for (const n of readdirSync(this.o.scratchDir)) if (n.startsWith('.stacks-export-')) rmSync(join(this.o.scratchDir, n), { recursive: true, force: true });
    this.stopped = false;
    this.schedule(0);
  }

  /** No more passes; resolves once a pass in flight finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.unwatch();
    await this.running?.catch(() => undefined);
    await this.replicating;
  }

  /** Look once (serialized): sync `.live` to the head when it moved. Resolves when done. */
  check(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.pass().finally(() => (this.running = null));
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.check()
        .catch((e: unknown) => this.o.log(`stacks watcher: ${e instanceof Error ? e.message : String(e)}`))
        .finally(() => this.schedule(this.delay));
    }, ms);
    this.timer.unref();
  }

  private unwatch(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
    this.watching = null;
  }

  /** fs.watch the ref directories so a push is seen at once; polling stays the fallback. */
  private watchRepo(bare: string): void {
    if (this.watching === bare) return;
    this.unwatch();
    for (const d of [bare, join(bare, 'refs', 'heads')]) {
      try {
        const w = watch(d, { persistent: false }, () => {
          this.delay = MIN_POLL_MS;
          if (this.timer !== null) this.schedule(50);
        });
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch {
        /* not there yet: polling finds it */
      }
    }
    this.watching = bare;
  }

  private async pass(): Promise<void> {
    const grow = (): void => void (this.delay = Math.min(MAX_POLL_MS, this.delay * 2));
    let pid: string | null;
    try {
      pid = this.st.project_id ?? findStacksProject(this.o.opsPuddleDir);
    } catch (e) {
      this.st.error = { commit: '', problem: `the stacks project state does not load: ${e instanceof Error ? e.message : String(e)}` };
      return grow();
    }
    if (pid === null) return grow();
    const bare = stacksBareRepo(this.o.gitbackBase, pid);
    this.st.project_id = pid;
    this.st.bare = bare;
    if (!existsSync(bare)) return grow();
    this.watchRepo(bare);
    const sig = refSignature(bare);
    if (sig !== this.signature) this.replicateWanted = true;
    this.replicateSoon(pid);
    if (sig === this.signature) return grow();
    const head = await stacksHead(bare, this.run);
    this.signature = sig;
    if (head === null) return grow();
    this.delay = MIN_POLL_MS;
    this.st.head = head.commit;
    if (head.commit === this.st.commit || head.commit === this.st.error?.commit) return;
    await this.sync(bare, head.commit);
  }

  /**
   * One replicate at a time, off the pass (the replica report takes seconds): a file://
   * push reaches the other bolts' agents, and one that raced it is asked for again after.
   */
  private replicateSoon(pid: string): void {
    const ask = this.o.replicate;
    const now = (this.o.now ?? Date.now)();
    if (ask === undefined || !this.replicateWanted || this.replicating !== null || now < this.replicateAt) return;
    this.replicateWanted = false;
    const failed = (problem: string): void => {
      this.replicateWanted = true;
      this.replicateAt = now + this.replicateBackoff;
      this.replicateBackoff = Math.min(REPLICATE_RETRY_MAX_MS, this.replicateBackoff * 2);
      // a repeat of the failure shown is not logged again
      if (problem !== this.st.replicate_error) this.o.log(`stacks watcher: the stacks project is not replicated yet (again in ${Math.round((this.replicateAt - now) / 1000)} s, then less often): ${problem}`);
      this.st.replicate_error = problem;
    };
    this.replicating = ask(pid)
      .then(
        (r) => {
          if (!r.ok) return failed(r.lines.join('; ') || 'the agent gave no reason');
          for (const l of r.lines) this.o.log(`stacks watcher: ${l}`);
          this.replicateBackoff = REPLICATE_RETRY_MS;
          this.st.replicate_error = null;
        },
        (e: unknown) => failed(e instanceof Error ? e.message : String(e)),
      )
      .finally(() => {
        this.replicating = null;
        // the refs moved while it ran: look again now, not at the next backed-off pass
        if (this.replicateWanted && this.timer !== null && !this.stopped) this.schedule(Math.max(50, this.replicateAt - (this.o.now ?? Date.now)()));
      });
  }

  private async sync(bare: string, commit: string): Promise<void> {
    const dir = join(this.o.scratchDir, `.stacks-export-${randomBytes(4).toString('hex')}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      const tarFile = `${dir}.tar`;
      let x = await this.run('git', ['--git-dir', bare, 'archive', '--format=tar', '-o', tarFile, commit]);
      if (x.code === 0) x = await this.run('tar', ['-x', '--no-same-owner', '--no-same-permissions', '-f', tarFile], dir);
      rmSync(tarFile, { force: true });
      if (x.code !== 0) {
        // an unreadable head is not a verdict on the stacks: look again next pass
        this.signature = null;
        this.o.log(`stacks watcher: cannot export ${commit} from ${bare}: ${x.stderr.trim() || 'git archive failed'}`);
        return;
      }
      let r: { version: number; files: number };
      try {
        r = await this.o.publish(dir);
      } catch (e) {
        const problem = e instanceof StacksInvalidError ? describe(e, dir) : e instanceof Error ? e.message : String(e);
        this.st.error = { commit, problem };
        this.o.log(`stacks watcher: head ${commit} of the stacks project was refused, .live is unchanged: ${problem}`);
        return;
      }
      this.st.commit = commit;
      this.st.error = null;
      setMeta(this.o.db, META_COMMIT, commit);
      this.o.log(`stacks watcher: head ${commit} is live as config version ${r.version} (${r.files} files)`);
      this.o.onLive?.(r.version, commit);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** The first problem, with the path inside the stacks tree (not the scratch dir). */
function describe(e: StacksInvalidError, dir: string): string {
  const p = e.problems[0];
  if (p === undefined) return e.message;
  const file = p.file.startsWith(`${dir}/`) ? p.file.slice(dir.length + 1) : p.file === dir ? '(the stacks root)' : p.file;
  const more = e.problems.length > 1 ? ` (and ${e.problems.length - 1} more)` : '';
  return `${file}:${p.line ?? '?'}: ${p.message}${more}`;
}
