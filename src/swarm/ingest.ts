/**
 * Bundles in and out of an envoy's bare repos, for replication.
 *
 * Out: `buildBundle` writes a bundle whose refs are exactly the tips the manifests end at
 * (what `checkBundleRefs` demands on the other side), with the tips the peer holds as
 * prerequisites. The refs are set in a scratch repo that borrows the real repo's objects
 * (alternates), so the bundle can name a ref at a tip the real repo has moved past.
 *
 * In: `bundleHeads` reads the bundle's header (its refs, checked against the manifests)
 * without a git process; `Quarantine` holds the bundle in a scratch repo that borrows the
 * real repo's objects: `git fetch` from the bundle into it verifies the bundle (prerequisites
 * present, as `git bundle verify` would), runs index-pack and the connectivity check. The real repo is untouched until the store's
 * commit() copies the scratch packs over; `dispose()` removes everything it made.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { VigoError } from '../platform/errors.js';
import type { Manifest } from '../wire/gitback-manifest.js';
import { gitOkAsync, runGitAsync } from './replica-disk.js';
import type { Tips } from './store.js';

/** The refs the manifests end at, applied in order (null: deleted). */
export function manifestTips(manifests: readonly Manifest[]): Map<string, string | null> {
  const want = new Map<string, string | null>();
  for (const m of manifests) for (const u of m.refs) want.set(u.ref, u.new);
  return want;
}

/** A scratch bare repo under `dir` whose object store borrows `repo`'s (when it exists). */
export function scratchRepo(parent: string, repo: string): string {
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  const dir = join(parent, `q-${randomBytes(6).toString('hex')}.git`);
  // what `git init --bare` makes that git needs, without a process (one per received bundle)
  mkdirSync(join(dir, 'objects', 'info'), { recursive: true, mode: 0o700 });
  mkdirSync(join(dir, 'objects', 'pack'), { mode: 0o700 });
  mkdirSync(join(dir, 'refs'), { mode: 0o700 });
  writeFileSync(join(dir, 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(dir, 'config'), '[core]\n\trepositoryformatversion = 0\n\tbare = true\n');
  if (existsSync(join(repo, 'objects'))) writeFileSync(join(dir, 'objects', 'info', 'alternates'), `${join(repo, 'objects')}\n`);
  return dir;
}

export function fileSha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .once('error', reject)
      .once('end', () => resolve(h.digest('hex')));
  });
}

/**
 * Write a bundle of `want` (ref → tip; deletions carry no objects) built on `base` (tips
 * the peer holds; null: none known, a full bundle). Returns the path, or null when nothing
 * needs objects (deletions only). Base tips that are not objects here, or that a wanted tip
 * is an ancestor of (git would drop that ref from the bundle), are left out.
 */
export async function buildBundle(repo: string, scratchParent: string, want: ReadonlyMap<string, string | null>, base: Readonly<Tips> | null, out: string): Promise<string | null> {
  const refs = [...want].filter((e): e is [string, string] => e[1] !== null);
  if (refs.length === 0) return null;
  const scratch = scratchRepo(scratchParent, repo);
  try {
    await gitOkAsync(['--git-dir', scratch, 'update-ref', '--stdin'], 'set the bundle refs', refs.map(([r, t]) => `update ${r} ${t}`).join('\n') + '\n');
    const prereq: string[] = [];
    const known = await commitsAmong(repo, [...new Set(Object.values(base ?? {}))]);
    // A wanted tip no base tip reaches excludes no base tip: one rev-list each decides that
    // for all of them; only a tip that is reached asks which base tips reach it.
    const reached: string[] = [];
    for (const [, t] of refs) {
      if (known.length === 0) break;
      const r = await runGitAsync(['--git-dir', repo, 'rev-list', '-n', '1', '--stdin'], `${t}\n${known.map((k) => `^${k}`).join('\n')}\n`);
      if (r.status !== 0 || r.stdout.trim() === '') reached.push(t);
    }
    for (const tip of known) {
      let below = false;
      for (const t of reached) if (t === tip || (await runGitAsync(['--git-dir', repo, 'merge-base', '--is-ancestor', t, tip])).status === 0) below = true;
      if (!below) prereq.push(`^${tip}`);
    }
    await gitOkAsync(['--git-dir', scratch, 'bundle', 'create', '--quiet', out, ...refs.map(([r]) => r), ...prereq], 'create the bundle');
    return out;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Which of `oids` are commits in `repo` (one `git cat-file --batch-check`). */
async function commitsAmong(repo: string, oids: readonly string[]): Promise<string[]> {
  if (oids.length === 0) return [];
  const r = await runGitAsync(['--git-dir', repo, 'cat-file', '--batch-check=%(objectname) %(objecttype)'], `${oids.join('\n')}\n`);
  const commits = new Set(r.stdout.split('\n').filter((l) => l.endsWith(' commit')).map((l) => l.slice(0, l.indexOf(' '))));
  return oids.filter((o) => commits.has(o));
}

/** Longest bundle header read: its prerequisite and ref lines (about 80,000 refs). */
export const MAX_BUNDLE_HEADER_BYTES = 8 * 1024 * 1024;

/**
 * ref → tip a bundle file says it carries, read from its header (what `git bundle
 * list-heads` prints, without a process): `# v2 git bundle` or `# v3 git bundle` and its
 * `@capability` lines, `-<oid> comment` prerequisites, `<oid> <ref>` lines, a blank line.
 * Anything else, or a header past MAX_BUNDLE_HEADER_BYTES: E_BUNDLE_CORRUPT. The fetch
 * into the quarantine reads the same bytes with git's own parser.
 */
export async function bundleHeads(bundle: string): Promise<Tips> {
  const corrupt = (why: string): VigoError => new VigoError('E_BUNDLE_CORRUPT', `bundle header: ${why}`);
  const f = await open(bundle, 'r');
  let text: string;
  try {
    const parts: Buffer[] = [];
    let size = 0;
    let end = -1;
    while (end < 0) {
      const chunk = Buffer.alloc(64 * 1024);
      const { bytesRead } = await f.read(chunk, 0, chunk.length, size);
      if (bytesRead === 0) throw corrupt('it ends before the blank line that closes it');
      parts.push(chunk.subarray(0, bytesRead));
      // the blank line may straddle two chunks: look again from the previous chunk's last byte
      const all = Buffer.concat(parts);
      end = all.indexOf('\n\n', Math.max(0, size - 1));
      size += bytesRead;
      if (end < 0 && size > MAX_BUNDLE_HEADER_BYTES) throw corrupt(`longer than ${MAX_BUNDLE_HEADER_BYTES} bytes`);
      if (end >= 0) text = all.subarray(0, end + 1).toString('latin1');
    }
  } finally {
    await f.close();
  }
  const lines = text!.split('\n').slice(0, -1);
  const version = lines.shift();
  if (version !== '# v2 git bundle' && version !== '# v3 git bundle') throw corrupt(`not a v2 or v3 git bundle (${JSON.stringify((version ?? '').slice(0, 40))})`);
  const out: Tips = {};
  for (const line of lines) {
    if (version === '# v3 git bundle' && line.startsWith('@')) continue; // capabilities (object-format, filter)
    if (/^-[0-9a-f]{40}([0-9a-f]{24})?( |$)/.test(line)) continue; // a prerequisite
    const m = /^([0-9a-f]{40}(?:[0-9a-f]{24})?) (\S+)$/.exec(line);
    if (m === null) throw corrupt(`a line that is neither a prerequisite nor a ref: ${JSON.stringify(line.slice(0, 80))}`);
    out[m[2]!] = m[1]!;
  }
  return out;
}

export class Quarantine {
  readonly gitDir: string;
  /** the bundle's refs once `admit` fetched them here */
  heads: Tips = {};
  constructor(
    parent: string,
    readonly repo: string,
  ) {
    this.gitDir = scratchRepo(parent, repo);
  }

  /**
   * Fetch the bundle's refs into the quarantine repo (all objects kept as one pack). git
   * verifies the bundle first — the same check as `git bundle verify`: prerequisites
   * present and complete — then index-pack and the connectivity check run.
   */
  async admit(bundle: string): Promise<void> {
    const f = await runGitAsync(['--git-dir', this.gitDir, '-c', 'fetch.unpackLimit=1', '-c', 'transfer.unpackLimit=1', 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', bundle, 'refs/*:refs/*']);
    if (f.status !== 0) throw new VigoError('E_BUNDLE_CORRUPT', `git fetch from the bundle: ${f.stderr || 'failed'}`);
  }

  dispose(): void {
    rmSync(this.gitDir, { recursive: true, force: true });
  }
}
