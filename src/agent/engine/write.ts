/**
 * Writing into a directory the engine holds open: the atomic replace of a file (temp file
 * beside it, fsync, rename, fsync dir — as platform/atomic.ts) and of a symlink, all
 * relative to the parent's fd and never through a symlink, and the sweep of the temp files
 * a killed agent left behind.
 */
import { closeSync, fsyncSync, readlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { O, fchmodFd, fchownFd, fstatat, openat, readdirFd, renameat, symlinkat, unlinkat } from '../../platform/fsat.js';

/** `.NAME.vigo-PID-8hex`: the engine's temp files (and links), swept when PID is no live agent. */
const TEMP_RE = /^\.(.+)\.vigo-([0-9]+)-[0-9a-f]{8}$/;

export function tempName(name: string): string {
  return `.${name}.vigo-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function unlinkQuietly(dirfd: number, name: string): void {
  try {
    unlinkat(dirfd, name);
  } catch {
    /* already gone */
  }
}

/** Rename a finished temp over `name` (same directory), or remove it. */
function renameIn(dirfd: number, tmp: string, name: string): void {
  try {
    renameat(dirfd, tmp, dirfd, name);
  } catch (e) {
    unlinkQuietly(dirfd, tmp);
    throw e;
  }
  fsyncSync(dirfd);
}

/**
 * Atomic replace of `name` in `dirfd` with owner and mode set on the temp file first, so no
 * reader ever sees the new content with the wrong owner or mode, and a crash leaves the old
 * file or the finished new one. A symlink at `name` is replaced, not followed.
 */
export function writeAt(dirfd: number, name: string, data: string | Buffer, mode: number, uid: number | null, gid: number | null): void {
  const tmp = tempName(name);
  const fd = openat(dirfd, tmp, O.WRONLY | O.CREAT | O.EXCL | O.NOFOLLOW, 0o600);
  try {
    writeFileSync(fd, data);
    if (uid !== null || gid !== null) fchownFd(fd, uid ?? -1, gid ?? -1);
    fchmodFd(fd, mode); // after chown, which clears set-id bits; and not left to the umask
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkQuietly(dirfd, tmp);
    throw e;
  }
  closeSync(fd);
  renameIn(dirfd, tmp, name);
}

/** Point `name` in `dirfd` at `target` atomically: a new link beside it, renamed over it. */
export function placeLinkAt(dirfd: number, name: string, target: string): void {
  const tmp = tempName(name);
  symlinkat(target, dirfd, tmp);
  renameIn(dirfd, tmp, name);
}

/** A process that may still be writing its temp files: alive and running this same program. */
function isLiveAgent(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  try {
    return readlinkSync(`/proc/${pid}/exe`) === readlinkSync('/proc/self/exe');
  } catch {
    return true; // alive but unreadable: leave its files alone
  }
}

/**
 * Remove the temp files (`.NAME.vigo-PID-hex`) a killed agent left in `dirfd`: only that
 * exact pattern, only files and links, only when PID is not a live agent. Returns their names.
 */
export function sweepStaleTemps(dirfd: number): string[] {
  const swept: string[] = [];
  for (const n of readdirFd(dirfd)) {
    const m = TEMP_RE.exec(n);
    if (m === null || isLiveAgent(Number(m[2]))) continue;
    const st = fstatat(dirfd, n);
    if (st === null || (st.kind !== 'file' && st.kind !== 'symlink')) continue;
    try {
      unlinkat(dirfd, n);
      swept.push(n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return swept.sort();
}
