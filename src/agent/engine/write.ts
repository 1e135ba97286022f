import { closeSync, fchmodSync, fchownSync, fsyncSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { fsyncDir } from '../../platform/atomic.js';

/**
 * Atomic replace (temp file beside it, fsync, rename, fsync dir — as platform/atomic.ts)
 * with owner and mode set on the temp file first, so no reader ever sees the new content
 * with the wrong owner or mode, and a crash leaves the old file or the finished new one.
 */
export function writeWithMeta(host: string, data: string, mode: number, uid: number | null, gid: number | null): void {
  const tmp = join(dirname(host), `.${basename(host)}.vigo-${process.pid}-${randomBytes(4).toString('hex')}`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeFileSync(fd, data, 'utf8');
    if (uid !== null || gid !== null) fchownSync(fd, uid ?? -1, gid ?? -1);
    fchmodSync(fd, mode); // after chown, which clears set-id bits; and not left to the umask
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, host);
  fsyncDir(dirname(host));
}
