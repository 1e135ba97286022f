/**
 * Bundles in and out of an envoy's bare repos, for replication.
 *
 * Out: `buildBundle` writes a bundle whose refs are exactly the tips the manifests end at
 * (what `checkBundleRefs` demands on the other side), with the tips the peer holds as
 * prerequisites. The refs are set in a scratch repo that borrows the real repo's objects
 * (alternates), so the bundle can name a ref at a tip the real repo has moved past.
 *
 * In: `Quarantine` holds a received bundle in a scratch repo that borrows the real repo's
 * objects: `git bundle list-heads` (checked against the manifests), `git bundle verify`
 * (prerequisites present), then `git fetch` from the bundle into the scratch repo (index-pack
 * and the connectivity check run there). The real repo is untouched until the store's
 * commit() copies the scratch packs over; `dispose()` removes everything it made.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
    for (const tip of new Set(Object.values(base ?? {}))) {
      if ((await runGitAsync(['--git-dir', repo, 'cat-file', '-e', `${tip}^{commit}`])).status !== 0) continue;
      let below = false;
      for (const [, t] of refs) if (t === tip || (await runGitAsync(['--git-dir', repo, 'merge-base', '--is-ancestor', t, tip])).status === 0) below = true;
      if (!below) prereq.push(`^${tip}`);
    }
    await gitOkAsync(['--git-dir', scratch, 'bundle', 'create', '--quiet', out, ...refs.map(([r]) => r), ...prereq], 'create the bundle');
    return out;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** ref → tip a bundle file says it carries (`git bundle list-heads`); E_BUNDLE_CORRUPT when git cannot read it. */
export async function bundleHeads(gitDir: string, bundle: string): Promise<Tips> {
  const r = await runGitAsync(['--git-dir', gitDir, 'bundle', 'list-heads', bundle]);
  if (r.status !== 0) throw new VigoError('E_BUNDLE_CORRUPT', `git bundle list-heads: ${r.stderr || 'not a bundle'}`);
  const out: Tips = {};
  for (const line of r.stdout.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0) out[line.slice(sp + 1)] = line.slice(0, sp);
  }
  return out;
}

export class Quarantine {
  readonly gitDir: string;
  constructor(
    parent: string,
    readonly repo: string,
  ) {
    this.gitDir = scratchRepo(parent, repo);
  }

  /** `git bundle verify`, then fetch the bundle's refs into the quarantine repo (all objects kept as one pack). */
  async admit(bundle: string): Promise<void> {
    const v = await runGitAsync(['--git-dir', this.gitDir, 'bundle', 'verify', '--quiet', bundle]);
    if (v.status !== 0) throw new VigoError('E_BUNDLE_CORRUPT', `git bundle verify: ${v.stderr || 'failed'}`);
    const f = await runGitAsync(['--git-dir', this.gitDir, '-c', 'fetch.unpackLimit=1', '-c', 'transfer.unpackLimit=1', 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', bundle, 'refs/*:refs/*']);
    if (f.status !== 0) throw new VigoError('E_BUNDLE_CORRUPT', `git fetch from the bundle: ${f.stderr || 'failed'}`);
  }

  dispose(): void {
    rmSync(this.gitDir, { recursive: true, force: true });
  }
}
