/**
 * File calls relative to directory file descriptors (openat, mkdirat, renameat, …), for
 * code that runs as root and writes into directories other users control (the agent's
 * convergence engine, the gitback reactor). Walk from '/' with O_DIRECTORY|O_NOFOLLOW,
 * then name only single components relative to a directory fd already held: a user who
 * swaps a directory for a symlink between a check and a use gets ELOOP, not a root write
 * wherever the link points. Apply mode and owner through the fd that was opened.
 *
 * Node's fs has no *at calls; they come from the native addon (native/fsat.c). Where a raw
 * fd suffices, use node's own calls on the fd: readSync, writeSync, fsyncSync, closeSync.
 * Errors are node-like: an Error with .code ('ENOENT', 'ELOOP', …), .errno, .syscall and
 * .path, whose message names the path. Every fd opened here is O_CLOEXEC.
 */
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, readlinkSync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { loadNativeAddon, type NativeFsAt } from './peercred.js';
import { VigoError } from './errors.js';

export interface AtStat {
  dev: number;
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  nlink: number;
  kind: 'file' | 'dir' | 'symlink' | 'other';
}

/** open(2) flags (Linux values; checked against the addon's when it loads). */
export const O = {
  RDONLY: constants.O_RDONLY,
  WRONLY: constants.O_WRONLY,
  RDWR: constants.O_RDWR,
  CREAT: constants.O_CREAT,
  EXCL: constants.O_EXCL,
  TRUNC: constants.O_TRUNC,
  NOFOLLOW: constants.O_NOFOLLOW,
  DIRECTORY: constants.O_DIRECTORY,
  CLOEXEC: 0o2000000,
  NONBLOCK: constants.O_NONBLOCK,
} as const;

/** A failed file call, shaped like node's fs errors. */
export class FsAtError extends Error {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  readonly path: string;

  constructor(code: string, errno: number, syscall: string, path: string, detail: string) {
    super(`${code}: ${detail}, ${syscall} '${path}'`);
    this.name = 'FsAtError';
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.path = path;
  }
}

let at: NativeFsAt | undefined;

function native(): NativeFsAt {
  if (at) return at;
  const a = loadNativeAddon().fsat;
  if (a === undefined) {
    throw new VigoError('E_NATIVE_MISSING', 'the native addon was built before the fd-based file calls (fsat) were added', {
      hint: 'rebuild it in the checkout: `npm run install` (node-gyp rebuild)',
    });
  }
  for (const [k, v] of Object.entries(O)) {
    if (a.O[k as keyof typeof O] !== v) throw new VigoError('E_NATIVE_MISMATCH', `open flag O_${k} is ${a.O[k as keyof typeof O]} in the addon, ${v} here`);
  }
  at = a;
  return a;
}

/** Where an fd points, for messages only (never used to reopen anything). */
export function fdPath(fd: number): string {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return `<fd ${fd}>`;
  }
}

const joinName = (dirfd: number, name: string): string => {
  const d = fdPath(dirfd);
  return d.endsWith('/') ? d + name : `${d}/${name}`;
};

/** Runs a native call, turning its errno into a node-like error naming `path()`. */
function sys<T>(path: () => string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const errno = (e as { errno?: unknown }).errno;
    const syscall = (e as { syscall?: unknown }).syscall;
    if (typeof errno !== 'number' || typeof syscall !== 'string') throw e;
    let code = `E${errno}`;
    try {
      code = getSystemErrorName(-errno);
    } catch {
      /* unknown errno: keep the number */
    }
    throw new FsAtError(code, errno, syscall, path(), (e as Error).message.toLowerCase());
  }
}

function einval(what: string, syscall: string, path: string): FsAtError {
  return new FsAtError('EINVAL', 22, syscall, path, what);
}

/** One path component: not empty, not '.' or '..', no '/' and no NUL. */
export function checkName(name: string, syscall: string): void {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw einval(`invalid path component ${JSON.stringify(name)} (one name: no '/', not '', '.' or '..')`, syscall, String(name));
  }
}

export function openat(dirfd: number, name: string, flags: number, mode = 0o600): number {
  checkName(name, 'openat');
  return sys(() => joinName(dirfd, name), () => native().openat(dirfd, name, flags, mode));
}

/**
 * A directory below `dirfd`, never through a symlink: a symlink there is ELOOP (the kernel
 * says ENOTDIR for O_DIRECTORY|O_NOFOLLOW on a link; this tells the two apart), anything
 * else that is not a directory ENOTDIR.
 */
export function openDirAt(dirfd: number, name: string): number {
  try {
    return openat(dirfd, name, O.RDONLY | O.DIRECTORY | O.NOFOLLOW);
  } catch (e) {
    if ((e as FsAtError).code === 'ENOTDIR' && fstatat(dirfd, name)?.kind === 'symlink') {
      throw new FsAtError('ELOOP', 40, 'openat', joinName(dirfd, name), 'is a symbolic link; not followed');
    }
    throw e;
  }
}

export function mkdirat(dirfd: number, name: string, mode: number): void {
  checkName(name, 'mkdirat');
  sys(() => joinName(dirfd, name), () => native().mkdirat(dirfd, name, mode));
}

export function unlinkat(dirfd: number, name: string, opts: { dir?: boolean } = {}): void {
  checkName(name, 'unlinkat');
  sys(() => joinName(dirfd, name), () => native().unlinkat(dirfd, name, opts.dir === true));
}

export function renameat(fromDirfd: number, fromName: string, toDirfd: number, toName: string): void {
  checkName(fromName, 'renameat');
  checkName(toName, 'renameat');
  sys(
    () => `${joinName(fromDirfd, fromName)}' -> '${joinName(toDirfd, toName)}`,
    () => native().renameat(fromDirfd, fromName, toDirfd, toName),
  );
}

/** lstat of one name in a directory (AT_SYMLINK_NOFOLLOW); null when it does not exist. */
export function fstatat(dirfd: number, name: string): AtStat | null {
  checkName(name, 'fstatat');
  return sys(() => joinName(dirfd, name), () => native().fstatat(dirfd, name));
}

/** fstat of an open fd (node's own call; the shape of fstatat's). */
export function fstatFd(fd: number): AtStat {
  const st = fstatSync(fd);
  const fmt = st.mode & constants.S_IFMT;
  const kind = fmt === constants.S_IFREG ? 'file' : fmt === constants.S_IFDIR ? 'dir' : fmt === constants.S_IFLNK ? 'symlink' : 'other';
  return { dev: st.dev, ino: st.ino, mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, mtimeMs: st.mtimeMs, nlink: st.nlink, kind };
}

export function symlinkat(target: string, dirfd: number, name: string): void {
  checkName(name, 'symlinkat');
  if (target === '' || target.includes('\0')) throw einval('invalid symlink target', 'symlinkat', joinName(dirfd, name));
  sys(() => joinName(dirfd, name), () => native().symlinkat(target, dirfd, name));
}

export function readlinkat(dirfd: number, name: string): string {
  checkName(name, 'readlinkat');
  return sys(() => joinName(dirfd, name), () => native().readlinkat(dirfd, name));
}

/** Names in the directory `dirfd` refers to, without '.' and '..' (dirfd stays open). */
export function readdirFd(dirfd: number): string[] {
  return sys(() => fdPath(dirfd), () => native().readdir(dirfd));
}

export function fchownFd(fd: number, uid: number, gid: number): void {
  fchownSync(fd, uid, gid);
}

export function fchmodFd(fd: number, mode: number): void {
  fchmodSync(fd, mode);
}

export function closeFd(fd: number): void {
  closeSync(fd);
}

/** fn(fd), then close fd whatever happens. */
export function withFd<T>(fd: number, fn: (fd: number) => T): T {
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** Most symlinks one openDirNoFollow follows (the kernel's own limit is 40). */
const MAX_FOLLOWS = 40;

export interface OpenDirOptions {
  /**
   * Asked for each symlink met on the way; true follows it (its target is walked the same
   * way). `holder` is the directory the link stands in: who can rename a link into place
   * matters as much as who owns it.
   */
  followSymlink?: (path: string, ownerUid: number, holder: AtStat) => boolean;
  /** create missing directories with this mode (applied with fchmod, not left to the umask) and owner */
  create?: { mode: number; uid?: number; gid?: number };
}

const components = (p: string): string[] => p.split('/').filter((s) => s !== '');

/**
 * Opens an absolute directory path component by component from '/', each with
 * O_DIRECTORY|O_NOFOLLOW, and returns a directory fd. A symlink component is refused
 * (code ELOOP, naming the component and its owner) unless opts.followSymlink says yes.
 * '.' and '..' are refused in `path`; in a followed link's target they are walked as
 * the kernel would (a '..' climbs out of a directory this walk itself verified).
 */
export function openDirNoFollow(path: string, opts: OpenDirOptions = {}): number {
  if (!path.startsWith('/') || path.includes('\0')) throw einval('not an absolute path', 'openDirNoFollow', path);
  let parts = components(path);
  if (parts.some((s) => s === '.' || s === '..')) throw einval('"." and ".." are not allowed', 'openDirNoFollow', path);
  let follows = 0;
  for (;;) {
    const done: string[] = [];
    let fd = sys(() => '/', () => native().openDir('/'));
    let restart: string[] | null = null;
    try {
      for (let i = 0; i < parts.length; i++) {
        const name = parts[i] as string;
        if (name === '.') continue;
        if (name === '..') {
          restart = [...done.slice(0, -1), ...parts.slice(i + 1)];
          break;
        }
        const here = '/' + [...done, name].join('/');
        let next: number;
        try {
          next = openDirAt(fd, name);
        } catch (e) {
          const code = (e as FsAtError).code;
          if (code === 'ENOENT' && opts.create !== undefined) {
            next = createDirAt(fd, name, opts.create);
          } else if (code === 'ELOOP') {
            const st = fstatat(fd, name);
            if (st === null || st.kind !== 'symlink') throw e;
            if (opts.followSymlink?.(here, st.uid, fstatFd(fd)) !== true) {
              throw new FsAtError('ELOOP', 40, 'openDirNoFollow', path, `refusing to follow symlink ${here} (owned by uid ${st.uid})`);
            }
            if (++follows > MAX_FOLLOWS) throw new FsAtError('ELOOP', 40, 'openDirNoFollow', path, 'too many levels of symbolic links');
            const target = readlinkat(fd, name);
            restart = [...(target.startsWith('/') ? [] : done), ...components(target), ...parts.slice(i + 1)];
            break;
          } else {
            throw e;
          }
        }
        closeSync(fd);
        fd = next;
        done.push(name);
      }
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    if (restart === null) return fd;
    closeSync(fd);
    parts = restart;
  }
}

/** mkdirat, then open it (never through a symlink) and set owner and mode through the fd. */
function createDirAt(dirfd: number, name: string, c: { mode: number; uid?: number; gid?: number }): number {
  try {
    mkdirat(dirfd, name, 0o700);
  } catch (e) {
    if ((e as FsAtError).code !== 'EEXIST') throw e; // made by someone else meanwhile: open what is there
  }
  const fd = openDirAt(dirfd, name);
  try {
    if (c.uid !== undefined || c.gid !== undefined) fchownSync(fd, c.uid ?? -1, c.gid ?? -1);
    fchmodSync(fd, c.mode);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/**
 * Removes `name` in `dirfd` and, for a directory, everything in it, descending only by
 * directory fds opened with O_NOFOLLOW: a symlink anywhere in the tree is unlinked, never
 * followed. Returns how many entries were removed below `name`.
 */
export function removeTreeAt(dirfd: number, name: string): number {
  const st = fstatat(dirfd, name);
  if (st === null) return 0;
  if (st.kind !== 'dir') {
    unlinkat(dirfd, name);
    return 0;
  }
  let n = 0;
  withFd(openDirAt(dirfd, name), (fd) => {
    for (const child of readdirFd(fd)) n += 1 + removeTreeAt(fd, child);
  });
  unlinkat(dirfd, name, { dir: true });
  return n;
}
