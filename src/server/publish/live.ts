/**
 * `.live/` — the only stacks the server reads. A publish copies `stacks/` into a fresh
 * version directory under `.live.d/` (every file fsynced, on a worker thread so check-ins
 * keep flowing), the caller validates that copy, and only a copy that validated is renamed
 * into place and named by the `.live` symlink (one rename). A crash at any moment leaves
 * `.live` naming one whole version: the old one or the new one, never a mix. Leftovers of
 * an interrupted publish are swept at the next start; the previous version is kept so a
 * `.live` that no longer loads at boot can fall back to it.
 *
 * Symlinks inside `stacks/` are refused by name, never followed: a link could pull a file
 * from anywhere on the server into what envoys receive, and validate and publish must read
 * exactly the same bytes. (The configured stacks directory itself may be a symlink.)
 */
import { closeSync, constants, existsSync, fstatSync, fsyncSync, lstatSync, mkdirSync, openSync, readSync, readdirSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncDir } from '../../platform/atomic.js';
import { SYMLINK_REFUSED, type StacksProblem } from './stacks-port.js';

const VERSIONS = '.live.d';
const COPY_CHUNK = 1 << 20;

const SPECIAL_REFUSED = 'is not a regular file or directory (fifo, socket or device): remove it from stacks/';

export interface StacksTree {
  /** directories and regular files, relative to the stacks root, parents before children */
  dirs: string[];
  files: string[];
  /** symlinks and special files, refused by name */
  problems: StacksProblem[];
}

/** What a publish would copy from `root` (dotfiles skipped: editor droppings, .git, a nested .live). */
export function listStacksTree(root: string): StacksTree {
  const tree: StacksTree = { dirs: [], files: [], problems: [] };
  const walk = (rel: string): void => {
    for (const ent of readdirSync(rel === '' ? root : join(root, rel), { withFileTypes: true })) {
      if (ent.name.startsWith('.')) continue;
      const r = rel === '' ? ent.name : `${rel}/${ent.name}`;
      if (ent.isSymbolicLink()) tree.problems.push({ file: r, line: null, message: SYMLINK_REFUSED });
      else if (ent.isDirectory()) {
        tree.dirs.push(r);
        walk(r);
      } else if (ent.isFile()) tree.files.push(r);
      else tree.problems.push({ file: r, line: null, message: SPECIAL_REFUSED });
    }
  };
  walk('');
  return tree;
}

/**
 * Copy one listed file without following a symlink anywhere on its way: the leaf is opened
 * O_NOFOLLOW, and the path the kernel actually opened (/proc/self/fd) must still be the one
 * listed under the stacks root — a directory swapped for a link after the listing is
 * caught here. Returns a problem instead of copying when either fails. Synchronous: it runs
 * on the publish worker thread (check-thread.ts), never on the event loop.
 */
export function copyListed(realRoot: string, srcRoot: string, rel: string, dst: string): StacksProblem | null {
  let fd: number;
  try {
    fd = openSync(join(srcRoot, rel), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') return { file: rel, line: null, message: SYMLINK_REFUSED };
    throw e;
  }
  try {
    let opened: string | null = null;
    try {
      opened = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      /* no /proc: the O_NOFOLLOW leaf check stands alone */
    }
    if (opened !== null && opened !== join(realRoot, rel)) return { file: rel, line: null, message: `changed while it was copied: it now resolves to ${opened} (${SYMLINK_REFUSED})` };
    if (!fstatSync(fd).isFile()) return { file: rel, line: null, message: SPECIAL_REFUSED };
    const out = openSync(dst, 'wx', 0o644);
    try {
      const buf = Buffer.allocUnsafe(COPY_CHUNK);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        for (let off = 0; off < n; ) off += writeSync(out, buf, off, n - off);
      }
      fsyncSync(out);
    } finally {
      closeSync(out);
    }
  } finally {
    closeSync(fd);
  }
  return null;
}

/** A copy of the stacks not yet live: validate `dir`, then `installStaged` or `discardStaged`. */
export interface StagedLive {
  dir: string;
  name: string;
  files: number;
  /** what the copy refused (symlinks, special files) */
  problems: StacksProblem[];
}

/** A fresh version name (sortable by time) and its staging directory under `.live.d/`. */
export function newStaging(dataDir: string): { name: string; dir: string } {
  const name = `${Date.now()}-${randomBytes(4).toString('hex')}`;
  return { name, dir: join(dataDir, VERSIONS, `.tmp-${name}`) };
}

/**
 * Copy `stacksDir` into the staging directory, fsyncing every file and directory.
 * Synchronous and slow (an fsync per file): call it on a worker thread (check-thread.ts).
 */
export function stageLive(stacksDir: string, dataDir: string, staging = newStaging(dataDir)): StagedLive {
  const { name, dir } = staging;
  mkdirSync(join(dataDir, VERSIONS), { recursive: true, mode: 0o755 });
  const tree = listStacksTree(stacksDir);
  const realRoot = realpathSync(stacksDir);
  let copied = 0;
  try {
    mkdirSync(dir, { mode: 0o755 });
    for (const d of tree.dirs) mkdirSync(join(dir, d), { mode: 0o755 });
    for (const f of tree.files) {
      const refused = copyListed(realRoot, stacksDir, f, join(dir, f));
      if (refused !== null) tree.problems.push(refused);
      else copied++;
    }
    for (const d of [...tree.dirs].reverse()) fsyncDir(join(dir, d));
    fsyncDir(dir);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, name, files: copied, problems: tree.problems };
}

export async function discardStaged(staged: Pick<StagedLive, 'dir'>): Promise<void> {
  await rm(staged.dir, { recursive: true, force: true });
}

/** Point `.live` at `.live.d/<name>` with one rename (the directory must already be whole). */
function pointLive(dataDir: string, name: string): string {
  const target = join(VERSIONS, name);
  const link = join(dataDir, `.live.tmp-${name}-${randomBytes(2).toString('hex')}`);
  symlinkSync(target, link);
  renameSync(link, join(dataDir, '.live'));
  fsyncDir(dataDir);
  return target;
}

/** Rename a validated copy into `.live.d/` and swap `.live` to it. Returns the link target. */
export function installStaged(staged: StagedLive, dataDir: string): string {
  const versions = join(dataDir, VERSIONS);
  renameSync(staged.dir, join(versions, staged.name));
  fsyncDir(versions);
  return pointLive(dataDir, staged.name);
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

/** Whole versions in `.live.d/` other than the one `.live` names, newest first. */
export function earlierGenerations(dataDir: string): string[] {
  const versions = join(dataDir, VERSIONS);
  if (!existsSync(versions)) return [];
  const cur = currentLiveTarget(dataDir);
  return readdirSync(versions)
    .filter((n) => !n.startsWith('.') && (cur === null || basename(cur) !== n))
    .sort((a, b) => Number.parseInt(b, 10) - Number.parseInt(a, 10) || (a < b ? 1 : -1));
}

/** Point `.live` back at an earlier whole version (boot fallback). */
export function revertLive(dataDir: string, name: string): string {
  return pointLive(dataDir, name);
}

/**
 * Sweep what an interrupted publish left behind (`.live.tmp-*`, `.live.d/.tmp-*`) and every
 * version but the one `.live` names and the newest other one (the fallback).
 */
export function sweepLive(dataDir: string): void {
  if (!existsSync(dataDir)) return;
  for (const n of readdirSync(dataDir)) if (n.startsWith('.live.tmp-')) rmSync(join(dataDir, n), { force: true });
  const versions = join(dataDir, VERSIONS);
  if (!existsSync(versions)) return;
  for (const n of readdirSync(versions)) if (n.startsWith('.')) rmSync(join(versions, n), { recursive: true, force: true });
  if (currentLiveTarget(dataDir) === null) return;
  for (const n of earlierGenerations(dataDir).slice(1)) rmSync(join(versions, n), { recursive: true, force: true });
}
