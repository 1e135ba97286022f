/**
 * `.live/` — the only stacks the server reads. A publish copies `stacks/` into a fresh
 * version directory under `.live.d/` (every file fsynced, on the thread pool so check-ins
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
import { existsSync, lstatSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { copyFile, mkdir, open, rm } from 'node:fs/promises';
import { join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncDir } from '../../platform/atomic.js';
import { SYMLINK_REFUSED, type StacksProblem } from './stacks-port.js';

const VERSIONS = '.live.d';
/** Files copied at once: enough to keep the thread pool busy, few enough to leave it room. */
const COPY_CONCURRENCY = 4;

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

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A copy of the stacks not yet live: validate `dir`, then `installStaged` or `discardStaged`. */
export interface StagedLive {
  dir: string;
  name: string;
  files: number;
  /** what the copy refused (symlinks, special files) */
  problems: StacksProblem[];
}

/** Copy `stacksDir` into `.live.d/.tmp-<id>/`, fsyncing every file and directory, off the event loop. */
export async function stageLive(stacksDir: string, dataDir: string): Promise<StagedLive> {
  const versions = join(dataDir, VERSIONS);
  await mkdir(versions, { recursive: true, mode: 0o755 });
  const name = `${Date.now()}-${randomBytes(4).toString('hex')}`;
  const dir = join(versions, `.tmp-${name}`);
  const tree = listStacksTree(stacksDir);
  try {
    await mkdir(dir, { mode: 0o755 });
    for (const d of tree.dirs) await mkdir(join(dir, d), { mode: 0o755 });
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < tree.files.length) {
        const f = tree.files[next++] as string;
        await copyFile(join(stacksDir, f), join(dir, f));
        await fsyncPath(join(dir, f));
      }
    };
    await Promise.all(Array.from({ length: COPY_CONCURRENCY }, worker));
    for (const d of [...tree.dirs].reverse()) await fsyncPath(join(dir, d));
    await fsyncPath(dir);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, name, files: tree.files.length, problems: tree.problems };
}

export async function discardStaged(staged: StagedLive): Promise<void> {
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
