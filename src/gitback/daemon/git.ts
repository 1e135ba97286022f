/**
 * The daemon's git edge: bare repos (created 0700 on first push), ref snapshots, and the
 * upload-pack / receive-pack processes it proxies to.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { VigoError } from '../../platform/errors.js';

export type RefSnapshot = Map<string, string>; // refname → object id

export { gitEnv, type GitHost } from '../../platform/git-env.js';

/** @param env a gitEnv() */
export function git(args: string[], env: NodeJS.ProcessEnv, opts: { cwd?: string } = {}): string {
  const r = spawnSync('git', args, { cwd: opts.cwd, env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) {
    throw new VigoError('E_GIT', `git ${args[0] ?? ''} failed: ${(r.stderr || r.stdout || String(r.error ?? '')).trim()}`);
  }
  return r.stdout;
}

const FOR_EACH_REF = ['for-each-ref', '--format=%(objectname) %(refname)'];

function parseRefs(text: string): RefSnapshot {
  const out: RefSnapshot = new Map();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) out.set(line.slice(sp + 1), line.slice(0, sp));
  }
  return out;
}

export function snapshotRefs(repo: string, env: NodeJS.ProcessEnv): RefSnapshot {
  return existsSync(repo) ? parseRefs(git(['--git-dir', repo, ...FOR_EACH_REF], env)) : new Map();
}

/** snapshotRefs without blocking the daemon's event loop. */
export async function snapshotRefsAsync(repo: string, env: NodeJS.ProcessEnv): Promise<RefSnapshot> {
  return existsSync(repo) ? parseRefs(await gitAsync(['--git-dir', repo, ...FOR_EACH_REF], env)) : new Map();
}

export interface RefChange {
  ref: string;
  before: string | null;
  after: string | null;
}

export function diffRefs(before: RefSnapshot, after: RefSnapshot): RefChange[] {
  const changes: RefChange[] = [];
  for (const [ref, oid] of after) if (before.get(ref) !== oid) changes.push({ ref, before: before.get(ref) ?? null, after: oid });
  for (const [ref, oid] of before) if (!after.has(ref)) changes.push({ ref, before: oid, after: null });
  return changes.sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}

/** `git init --bare` at path, 0700 (the caller picks a fresh path next to the final one). */
function initBare(path: string, env: NodeJS.ProcessEnv): void {
  git(['init', '--bare', '--quiet', path], env);
  chmodSync(path, 0o700);
}

function asidePath(repo: string, what: string): string {
  return join(dirname(repo), `.${basename(repo)}.${what}-${randomBytes(4).toString('hex')}`);
}

/** Creates <pid>.git as a bare repo (0700), atomically: init aside, then rename. */
export function ensureBareRepo(repo: string, env: NodeJS.ProcessEnv): boolean {
  if (existsSync(repo)) return false;
  mkdirSync(dirname(repo), { recursive: true, mode: 0o700 });
  const tmp = asidePath(repo, 'init');
  try {
    initBare(tmp, env);
    renameSync(tmp, repo);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(repo)) return false; // a concurrent first push won
    throw e;
  }
  return true;
}

/**
 * A bare repo beside <pid>.git for a first push to receive into; the caller renames it
 * into place once refs arrived, or removes it. Dot-named, so status and gc never list it.
 */
export function createPendingRepo(repo: string, env: NodeJS.ProcessEnv): string {
  mkdirSync(dirname(repo), { recursive: true, mode: 0o700 });
  const tmp = asidePath(repo, 'first-push');
  try {
    initBare(tmp, env);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return tmp;
}

/**
 * After a receive: if HEAD names a branch that does not exist, point it at a pushed one
 * (main, then master, then the first), so clones check out what was pushed.
 */
export async function fixHead(repo: string, after: RefSnapshot, env: NodeJS.ProcessEnv): Promise<void> {
  const head = (await gitAsync(['--git-dir', repo, 'symbolic-ref', '-q', 'HEAD'], env).catch(() => '')).trim();
  if (head !== '' && after.has(head)) return;
  const branches = [...after.keys()].filter((k) => k.startsWith('refs/heads/')).sort();
  const pick = ['refs/heads/main', 'refs/heads/master'].find((b) => after.has(b)) ?? branches[0];
  if (pick) await gitAsync(['--git-dir', repo, 'symbolic-ref', 'HEAD', pick], env);
}

/** @param env a gitEnv() */
export function spawnService(service: 'git-upload-pack' | 'git-receive-pack', repo: string, gitProtocol: string | null, env: NodeJS.ProcessEnv): ChildProcess {
  // Partial clones (--filter) need filters allowed, and their later fetches of missing
  // objects ask for blobs by id. Set per invocation, so repos created before this change
  // serve them too; every member may read every object of the repo anyway.
  const args = service === 'git-upload-pack' ? ['-c', 'uploadpack.allowFilter=true', '-c', 'uploadpack.allowAnySHA1InWant=true', 'upload-pack', repo] : // push options (`git push -o replicas=N`) are read by git-remote-gitback; receive-pack only accepts them
      ['-c', 'receive.advertisePushOptions=true', 'receive-pack', repo];
  return spawn('git', args, {
    env: gitProtocol ? { ...env, GIT_PROTOCOL: gitProtocol } : env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** git without blocking the daemon's event loop; resolves to its stdout. */
export function gitAsync(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn('git', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    c.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    c.once('error', reject);
    c.once('close', (code) => (code === 0 ? resolve(out) : reject(new VigoError('E_GIT', `git ${args.join(' ')} failed: ${err.trim()}`))));
  });
}
