/**
 * Multi-file changes to a puddle directory that survive kill -9 at any instant.
 *
 * A change is staged in `.txn-staging-<rand>/` (every new file, fsynced, plus a manifest),
 * then committed by ONE rename of that directory to `.txn`. Before the rename a crash
 * leaves the old state (recovery deletes the staging dir); after it, recovery rolls the
 * change forward by moving each staged file into place (idempotent: a file already moved
 * is skipped) and deleting what the manifest says to delete, then drops `.txn`.
 * Every reader that needs a consistent view runs `recoverJournal` under the directory
 * lock first, so nobody ever sees half of a change.
 */
import {
  closeSync,
  existsSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
  chmodSync,
} from 'node:fs';
import { dirname, join, normalize, isAbsolute } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsyncDir } from '../platform/atomic.js';
import { VigoError } from '../platform/errors.js';
import { crashPoint, type CrashEnv } from './crash.js';
import { DIR_MODE } from './layout.js';

export interface StagedFile {
  /** path relative to the puddle dir (may name a subdirectory, e.g. retired/<hex>.wrapped) */
  path: string;
  data: string | Uint8Array;
  mode: number;
}

export interface Change {
  /** short name used in crash-point names: `<op>:staged`, `<op>:committed`, … */
  op: string;
  put: StagedFile[];
  remove?: string[];
}

interface Manifest {
  v: 1;
  op: string;
  put: { src: string; dst: string; mode: number }[];
  remove: string[];
}

const TXN = '.txn';
const STAGING_PREFIX = '.txn-staging-';
const DONE_PREFIX = '.txn-done-';

function checkRel(p: string): string {
  const n = normalize(p);
  if (isAbsolute(n) || n.startsWith('..') || n.startsWith('.txn')) {
    throw new VigoError('E_PUDDLE_INTERNAL', `journal path escapes the puddle dir: ${p}`);
  }
  return n;
}

/** Writes a file with exactly `mode` (umask does not apply) and fsyncs it. */
export function writeExact(path: string, data: string | Uint8Array, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    fchmodSync(fd, mode);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function ensureDir(path: string, mode = DIR_MODE): void {
  if (!existsSync(path)) {
    mkdirSync(path, { recursive: true, mode });
    fsyncDir(dirname(path));
  }
  chmodSync(path, mode);
}

export function commitChange(dir: string, change: Change, env: CrashEnv): void {
  if (existsSync(join(dir, TXN))) recoverJournal(dir, env);
  const staging = join(dir, STAGING_PREFIX + randomBytes(6).toString('hex'));
  mkdirSync(staging, { mode: DIR_MODE });
  const manifest: Manifest = { v: 1, op: change.op, put: [], remove: (change.remove ?? []).map(checkRel) };
  change.put.forEach((f, i) => {
    const src = `f${i}`;
    writeExact(join(staging, src), f.data, f.mode);
    manifest.put.push({ src, dst: checkRel(f.path), mode: f.mode });
    if (i === 0) crashPoint(`${change.op}:staging`, env);
  });
  writeExact(join(staging, 'manifest.json'), JSON.stringify(manifest) + '\n', 0o600);
  fsyncDir(staging);
  crashPoint(`${change.op}:staged`, env);
  renameSync(staging, join(dir, TXN)); // the commit point
  fsyncDir(dir);
  crashPoint(`${change.op}:committed`, env);
  applyJournal(dir, env);
}

function applyJournal(dir: string, env: CrashEnv): void {
  const txn = join(dir, TXN);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(join(txn, 'manifest.json'), 'utf8')) as Manifest;
  } catch (e) {
    throw new VigoError('E_PUDDLE_CORRUPT', `${join(txn, 'manifest.json')}: unreadable journal manifest (${(e as Error).message})`, {
      hint: `inspect ${txn} by hand; it holds a committed change to the puddle`,
    });
  }
  manifest.put.forEach((f, i) => {
    const src = join(txn, f.src);
    const dst = join(dir, checkRel(f.dst));
    if (existsSync(src)) {
      ensureDir(dirname(dst));
      renameSync(src, dst);
      fsyncDir(dirname(dst));
    }
    if (i === 0) crashPoint(`${manifest.op}:applying`, env);
  });
  for (const r of manifest.remove) {
    try {
      unlinkSync(join(dir, checkRel(r)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  fsyncDir(dir);
  crashPoint(`${manifest.op}:applied`, env);
  const done = join(dir, DONE_PREFIX + randomBytes(6).toString('hex'));
  renameSync(txn, done);
  fsyncDir(dir);
  rmSync(done, { recursive: true, force: true });
}

/** Finishes a committed change, drops uncommitted ones. Call under the directory lock. */
export function recoverJournal(dir: string, env: CrashEnv): void {
  if (!existsSync(dir)) return;
  if (existsSync(join(dir, TXN))) applyJournal(dir, env);
  for (const name of readdirSync(dir)) {
    if (name.startsWith(STAGING_PREFIX) || name.startsWith(DONE_PREFIX)) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/** A committed change to finish, or leftovers of an interrupted one to drop. */
export function journalPending(dir: string): boolean {
  return readdirSync(dir).some((n) => n === TXN || n.startsWith(STAGING_PREFIX) || n.startsWith(DONE_PREFIX));
}
