/**
 * Reading a file only root may have written (the agent's fleet files: name-map.json,
 * peer-hints.json): opened without following a symbolic link, then checked on the open
 * descriptor (fstat), so what is checked is what is read. Refused, naming the file: not a
 * regular file, not owned by root, group- or world-writable, larger than `maxBytes`.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { VigoError } from './errors.js';

export interface RootFile {
  bytes: Buffer;
  mtime: Date;
}

/** The file's bytes and mtime, or null when it does not exist; `what` names it in errors ("the fleet name map"). */
export function readRootOwnedFile(file: string, o: { what: string; maxBytes: number; rootUid?: number }): RootFile | null {
  const rootUid = o.rootUid ?? 0;
  const again = 'the agent writes it again at its next check-in';
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new VigoError('E_UNSAFE_FILE', `${file}: is a symbolic link; ${o.what} must be a regular file root wrote`, { hint: `remove it; ${again}` });
    throw new VigoError('E_IO', `${file}: cannot be read (${code ?? String(e)})`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new VigoError('E_UNSAFE_FILE', `${file}: is not a regular file; ${o.what} must be one root wrote`, { hint: `remove it; ${again}` });
    if (st.uid !== rootUid) throw new VigoError('E_UNSAFE_FILE', `${file}: is owned by uid ${st.uid}, not root; ${o.what} is trusted only when root wrote it`, { hint: `remove it; ${again}` });
    if ((st.mode & 0o022) !== 0) throw new VigoError('E_UNSAFE_FILE', `${file}: is group- or world-writable (mode ${(st.mode & 0o777).toString(8)}); ${o.what} is refused`, { hint: `chmod go-w ${file}, or remove it; ${again}` });
    if (st.size > o.maxBytes) throw new VigoError('E_MALFORMED', `${file}: ${st.size} bytes (${o.what} is at most ${o.maxBytes})`);
    const bytes = Buffer.alloc(st.size);
    let off = 0;
    while (off < bytes.length) {
      const n = readSync(fd, bytes, off, bytes.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return { bytes: bytes.subarray(0, off), mtime: st.mtime };
  } finally {
    closeSync(fd);
  }
}
