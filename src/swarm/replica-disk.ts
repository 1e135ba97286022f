/**
 * The ReplicaStore of a real envoy: refs in the bare repos (`<projects>/<pid>.git`), what
 * the replication machine remembers beside them in one state file per project,
 * `<base>/replica/<pid>.json` (0600, written atomically): the project's scope and
 * membership, each replicated ref's state (tip, manifest, stream, seq, order), the signed
 * updates those refs came from, the applied manifest ids (replay refusal) and the highest
 * seq per stream (rollback refusal).
 *
 * Objects of a bundle under judgement live in a quarantine repo (ingest.ts) that borrows
 * the real repo's objects through alternates; `isAncestor` looks there while one is set, and
 * `commit` copies its packs into the real repo before it moves any ref, with one
 * `git update-ref --stdin` transaction of compare-and-swap lines. Nothing reaches the real
 * repo before the machine accepted the update.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { writeJsonAtomic } from '../platform/atomic.js';
import { gitEnv } from '../platform/git-env.js';
import { VigoError } from '../platform/errors.js';
import type { Hex, Scope } from '../trust/index.js';
import type { RefUpdate } from '../wire/gitback-manifest.js';
import { MAX_APPLIED_IDS, streamOf, type ProjectMeta, type RefState, type ReplicaStore, type SignedUpdate } from './store.js';

const ZERO_OID = '0000000000000000000000000000000000000000';

/**
 * A clean environment for the git processes replication runs: the helper daemon's own
 * (gitback's gitEnv: a system PATH, HOME=/, no system config), never prompting.
 */
export function replicaGitEnv(): NodeJS.ProcessEnv {
  return gitEnv({}, { GIT_TERMINAL_PROMPT: '0' });
}

export interface GitResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run git synchronously (the machine's store calls are synchronous). */
export function runGit(args: string[], input?: string): GitResult {
  const r = spawnSync('git', args, { env: replicaGitEnv(), encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? String(r.error ?? '')).trim() };
}

/** git without blocking the event loop (bundle create, verify, fetch: the heavy calls); output capped at 64 MiB. */
export function runGitAsync(args: string[], input?: string): Promise<GitResult> {
  return new Promise((resolve) => {
    const c = spawn('git', args, { env: replicaGitEnv(), stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    let size = 0;
    const timer = setTimeout(() => c.kill('SIGKILL'), 300_000);
    c.stdout!.on('data', (d: Buffer) => {
      size += d.length;
      if (size <= 64 * 1024 * 1024) out.push(d);
      else c.kill('SIGKILL');
    });
    c.stderr!.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-8192)));
    c.once('error', (e) => {
      clearTimeout(timer);
      resolve({ status: null, stdout: '', stderr: e.message });
    });
    c.once('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code, stdout: Buffer.concat(out).toString('utf8'), stderr: err.trim() });
    });
    if (c.stdin !== null) {
      c.stdin.on('error', () => {}); // git may exit before reading it all; its status says why
      c.stdin.end(input);
    }
  });
}

export async function gitOkAsync(args: string[], what: string, input?: string): Promise<string> {
  const r = await runGitAsync(args, input);
  if (r.status !== 0) throw new VigoError('E_GIT', `${what}: git ${args.join(' ')}: ${r.stderr || `exit ${String(r.status)}`}`);
  return r.stdout;
}

export function gitOk(args: string[], what: string, input?: string): string {
  const r = runGit(args, input);
  if (r.status !== 0) throw new VigoError('E_GIT', `${what}: git ${args.join(' ')}: ${r.stderr || `exit ${String(r.status)}`}`);
  return r.stdout;
}

interface ReplicaFile {
  v: 1;
  project: ProjectMeta;
  refs: Record<string, RefState>;
  updates: Record<Hex, SignedUpdate>;
  applied: Hex[];
  streams: Record<string, number>;
}

interface Record_ {
  file: ReplicaFile;
  applied: Set<Hex>;
}

/** The quarantine a received bundle was fetched into, while the machine judges it. */
export interface QuarantineView {
  projectId: Hex;
  gitDir: string;
  /** the bundle's refs, each fetched into `gitDir` (connectivity checked by git) */
  heads?: Readonly<Record<string, string>>;
}

export interface DiskReplicaStoreOptions {
  /** the envoy's gitback base (`/var/lib/vigo/swarm/gitback`): state goes to `<base>/replica/` */
  base: string;
  /** where the bare repos live (`<base>/projects`) */
  projectsDir: string;
}

export class DiskReplicaStore implements ReplicaStore {
  private readonly records = new Map<Hex, Record_>();
  private order = 0;
  private quarantine: QuarantineView | null = null;
  readonly stateDir: string;

  constructor(private readonly o: DiskReplicaStoreOptions) {
    this.stateDir = join(o.base, 'replica');
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(this.stateDir)) {
      if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
      const path = join(this.stateDir, name);
      let file: ReplicaFile;
      try {
        file = JSON.parse(readFileSync(path, 'utf8')) as ReplicaFile;
      } catch (e) {
        throw new VigoError('E_STATE', `${path}: not JSON (${e instanceof Error ? e.message : String(e)})`, { hint: 'restore it from backup or remove it; the next catch-up fetches the project again' });
      }
      if (file.v !== 1 || typeof file.project?.projectId !== 'string' || file.project.projectId !== name.slice(0, 64)) throw new VigoError('E_STATE', `${path}: not a replica state file of version 1 for this project`, { hint: 'remove it; the next catch-up fetches the project again' });
      for (const s of Object.values(file.refs)) this.order = Math.max(this.order, s.order);
      this.records.set(file.project.projectId, { file, applied: new Set(file.applied) });
    }
  }

  repoOf(projectId: Hex): string {
    return join(this.o.projectsDir, `${projectId}.git`);
  }

  /** A local user holds the project (a member puddle): DR catch-up fetches it when it has no refs. */
  join(projectId: Hex, scope: Scope): void {
    const r = this.records.get(projectId);
    if (r !== undefined) r.file.project = { ...r.file.project, member: true };
    else this.records.set(projectId, { file: { v: 1, project: { projectId, scope, member: true }, refs: {}, updates: {}, applied: [], streams: {} }, applied: new Set() });
    this.save(projectId);
  }

  /** While set, ancestry is judged with the quarantined objects and commit() imports them. */
  setQuarantine(q: QuarantineView | null): void {
    this.quarantine = q;
  }

  projects(): ProjectMeta[] {
    return [...this.records.values()].map((r) => r.file.project).sort((a, b) => (a.projectId < b.projectId ? -1 : 1));
  }

  project(projectId: Hex): ProjectMeta | undefined {
    return this.records.get(projectId)?.file.project;
  }

  refs(projectId: Hex): ReadonlyMap<string, RefState> {
    return new Map(Object.entries(this.records.get(projectId)?.file.refs ?? {}));
  }

  update(projectId: Hex, manifestId: Hex): SignedUpdate | undefined {
    return this.records.get(projectId)?.file.updates[manifestId];
  }

  /** bundle_sha256 of every update some held ref still comes from (their push bundles are kept). */
  liveBundleHashes(): Set<Hex> {
    const out = new Set<Hex>();
    for (const r of this.records.values()) for (const u of Object.values(r.file.updates)) out.add(u.manifest.bundle_sha256);
    return out;
  }

  hasApplied(projectId: Hex, manifestId: Hex): boolean {
    return this.records.get(projectId)?.applied.has(manifestId) ?? false;
  }

  streamSeq(projectId: Hex, stream: string): number {
    return this.records.get(projectId)?.file.streams[stream] ?? 0;
  }

  isAncestor(projectId: Hex, ancestor: string, descendant: string): boolean {
    if (ancestor === descendant) return true;
    const gitDir = this.quarantine?.projectId === projectId ? this.quarantine.gitDir : this.repoOf(projectId);
    if (!existsSync(gitDir)) return false;
    return runGit(['--git-dir', gitDir, 'merge-base', '--is-ancestor', ancestor, descendant]).status === 0;
  }

  commit(meta: ProjectMeta, update: SignedUpdate, manifestId: Hex, applied: readonly RefUpdate[]): void {
    const pid = meta.projectId;
    let r = this.records.get(pid);
    if (r === undefined) {
      r = { file: { v: 1, project: meta, refs: {}, updates: {}, applied: [], streams: {} }, applied: new Set() };
      this.records.set(pid, r);
    }
    const repo = this.repoOf(pid);
    const q = this.quarantine?.projectId === pid ? this.quarantine.gitDir : null;
    // every tip must be an object before anything is copied: no pack lands for a move that cannot be made
    // (one `cat-file --batch-check` for all of them)
    // (a tip the quarantine's fetch stored as a bundle head is there: git fetched and checked it)
    const fetched = this.quarantine?.projectId === pid ? (this.quarantine.heads ?? {}) : {};
    const tips = applied.filter((u) => u.new !== null && fetched[u.ref] !== u.new);
    if (tips.length > 0) {
      const r = runGit(['--git-dir', q ?? repo, 'cat-file', '--batch-check=%(objectname)'], `${tips.map((u) => u.new).join('\n')}\n`);
      const found = new Set(r.stdout.split('\n'));
      for (const u of tips) {
        if (!found.has(u.new!)) throw new VigoError('E_MANIFEST_BUNDLE_REFS', `${u.ref}: object ${u.new} is neither in the bundle nor in the repo`, { hint: 'nothing was changed; the sending envoy built a bundle that does not match its manifest' });
      }
    }
    ensureBare(repo);
    if (q !== null) importPacks(q, repo);
    this.moveRefs(repo, r.file.refs, applied);
    const m = update.manifest;
    const stream = streamOf(m);
    r.file.updates[manifestId] = update;
    r.applied.add(manifestId);
    if (r.applied.size > MAX_APPLIED_IDS) r.applied.delete(r.applied.values().next().value!);
    if (m.seq > (r.file.streams[stream] ?? 0)) r.file.streams[stream] = m.seq;
    const order = ++this.order;
    for (const u of applied) r.file.refs[u.ref] = { tip: u.new, manifestId, stream, seq: m.seq, order };
    const live = new Set(Object.values(r.file.refs).map((s) => s.manifestId));
    for (const id of Object.keys(r.file.updates)) if (!live.has(id)) delete r.file.updates[id];
    r.file.applied = [...r.applied];
    this.save(pid);
  }

  /**
   * Moves the repo's refs to the applied tips in one transaction, each line a
   * compare-and-swap from the tip the repo has now: the tip this store recorded, or
   * already the new one (a local push moved it before localPush recorded it).
   */
  private moveRefs(repo: string, held: Record<string, RefState>, applied: readonly RefUpdate[]): void {
    const lines: string[] = [];
    let reshaped = false;
    const current = currentTips(repo, applied.map((u) => u.ref));
    for (const u of applied) {
      const now = current.get(u.ref) ?? null;
      reshaped ||= now === null || u.new === null;
      if (now === u.new) continue;
      const recorded = held[u.ref]?.tip ?? null;
      if (now !== recorded && now !== u.old) {
        throw new VigoError('E_REF_MOVED', `${repo}: ${u.ref} is at ${now ?? '(none)'} in git, but replication recorded ${recorded ?? '(none)'}`, { hint: `a push reached the bare repo without the replication runtime; put ${u.ref} back to ${recorded ?? '(none)'} with git update-ref to resume its replication` });
      }
      const expect = now ?? ZERO_OID;
      lines.push(u.new === null ? `delete ${u.ref} ${expect}` : `update ${u.ref} ${u.new} ${expect}`);
    }
    if (lines.length === 0) return;
    gitOk(['--git-dir', repo, 'update-ref', '--stdin'], 'move replicated refs', `start\n${lines.join('\n')}\nprepare\ncommit\n`);
    // HEAD can only dangle once a ref was created or deleted
    if (reshaped) fixHead(repo);
  }

  private save(projectId: Hex): void {
    const r = this.records.get(projectId);
    if (r === undefined) return;
    writeJsonAtomic(join(this.stateDir, `${projectId}.json`), r.file, { mode: 0o600, mkdirMode: 0o700 });
  }
}

/** The objects the refs name now (absent: no such ref), in one `git for-each-ref`. */
export function currentTips(repo: string, refs: readonly string[]): Map<string, string> {
  const want = new Set(refs);
  const out = new Map<string, string>();
  if (want.size === 0) return out;
  // for-each-ref patterns also match below a ref name (refs/heads/a matches refs/heads/a/b): keep exact names only
  const r = runGit(['--git-dir', repo, 'for-each-ref', '--format=%(objectname) %(refname)', ...want]);
  if (r.status !== 0) throw new VigoError('E_GIT', `git for-each-ref in ${repo}: ${r.stderr.trim()}`);
  for (const l of r.stdout.split('\n')) {
    const sp = l.indexOf(' ');
    if (sp > 0 && want.has(l.slice(sp + 1))) out.set(l.slice(sp + 1), l.slice(0, sp));
  }
  return out;
}

export function currentTip(repo: string, ref: string): string | null {
  // the object the ref names (for an annotated tag, the tag, not what it peels to)
  const r = runGit(['--git-dir', repo, 'rev-parse', '--verify', '-q', ref]);
  return r.status === 0 ? r.stdout.trim() : null;
}

/** `git init --bare` aside, then rename into place (0700), as the daemon makes its repos. */
export function ensureBare(repo: string): void {
  if (existsSync(repo)) return;
  mkdirSync(dirname(repo), { recursive: true, mode: 0o700 });
  const tmp = join(dirname(repo), `.${basename(repo)}.init-${randomBytes(4).toString('hex')}`);
  try {
    gitOk(['init', '--bare', '--quiet', tmp], 'create the bare repo');
    chmodSync(tmp, 0o700);
    renameSync(tmp, repo);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(repo)) throw e;
  }
}

/** Point HEAD at an existing branch (main, master, the first) when it names none, so clones check out. */
function fixHead(repo: string): void {
  const head = runGit(['--git-dir', repo, 'symbolic-ref', '-q', 'HEAD']).stdout.trim();
  if (head !== '' && currentTip(repo, head) !== null) return;
  const branches = runGit(['--git-dir', repo, 'for-each-ref', '--format=%(refname)', 'refs/heads/']).stdout.split('\n').filter((l) => l !== '');
  const pick = ['refs/heads/main', 'refs/heads/master'].find((b) => branches.includes(b)) ?? branches[0];
  if (pick !== undefined) gitOk(['--git-dir', repo, 'symbolic-ref', 'HEAD', pick], 'point HEAD at a branch');
}

/** Copy the quarantine's packs into the repo: each .pack before its .idx, so no reader sees an index without its pack. */
function importPacks(quarantineGitDir: string, repo: string): void {
  const from = join(quarantineGitDir, 'objects', 'pack');
  const to = join(repo, 'objects', 'pack');
  if (!existsSync(from)) return;
  mkdirSync(to, { recursive: true, mode: 0o700 });
  const names = readdirSync(from);
  for (const ext of ['.pack', '.rev', '.idx']) {
    for (const n of names) {
      if (!n.endsWith(ext) || existsSync(join(to, n))) continue;
      const tmp = join(to, `.tmp-${n}`);
      copyFileSync(join(from, n), tmp);
      renameSync(tmp, join(to, n));
    }
  }
}
