/**
 * `.live/` — the only stacks the server reads. A publish copies the validated stacks into
 * a fresh version directory under `.live.d/` (every file fsynced), then points the `.live`
 * symlink at it with one rename. A crash at any moment leaves `.live` naming one whole
 * version: the old one or the new one, never a mix. Leftovers of an interrupted publish
 * are swept at the next start.
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncDir } from '../../platform/atomic.js';

const VERSIONS = '.live.d';

function copyTree(src: string, dst: string): number {
  mkdirSync(dst, { recursive: true, mode: 0o755 });
  let n = 0;
  for (const ent of readdirSync(src, { withFileTypes: true })) {
    if (ent.name.startsWith('.')) continue; // editor droppings, .git, a nested .live
    const s = join(src, ent.name);
    const d = join(dst, ent.name);
    if (ent.isDirectory()) n += copyTree(s, d);
    else if (ent.isFile()) {
      copyFileSync(s, d);
      const fd = openSync(d, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      n++;
    }
  }
  fsyncDir(dst);
  return n;
}

/** The version directory `.live` points at, or null when nothing was ever published. */
export function currentLiveTarget(dataDir: string): string | null {
  const live = join(dataDir, '.live');
  try {
    if (!lstatSync(live).isSymbolicLink()) return null;
  } catch {
    return null;
  }
  return readlinkSync(live);
}

/** Copy `stacksDir` into a new version and swap `.live` to it. Returns the version dir name. */
export function swapLive(stacksDir: string, dataDir: string): { target: string; files: number } {
  const versions = join(dataDir, VERSIONS);
  mkdirSync(versions, { recursive: true, mode: 0o755 });
  const name = `${Date.now()}-${randomBytes(4).toString('hex')}`;
  const tmp = join(versions, `.tmp-${name}`);
  const files = copyTree(stacksDir, tmp);
  renameSync(tmp, join(versions, name));
  fsyncDir(versions);
  const target = join(VERSIONS, name);
  const link = join(dataDir, `.live.tmp-${name}`);
  symlinkSync(target, link);
  renameSync(link, join(dataDir, '.live'));
  fsyncDir(dataDir);
  return { target, files };
}

/** Sweep what an interrupted publish left behind, and versions `.live` no longer names. */
export function sweepLive(dataDir: string): void {
  if (!existsSync(dataDir)) return;
  for (const n of readdirSync(dataDir)) if (n.startsWith('.live.tmp-')) rmSync(join(dataDir, n), { force: true });
  const versions = join(dataDir, VERSIONS);
  if (!existsSync(versions)) return;
  const keep = currentLiveTarget(dataDir);
  for (const n of readdirSync(versions)) {
    if (keep !== null && basename(keep) === n) continue;
    rmSync(join(versions, n), { recursive: true, force: true });
  }
}
