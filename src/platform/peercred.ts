/**
 * The kernel's word on who is calling: SO_PEERCRED through our small N-API addon
 * (native/peercred.c, built by node-gyp at install). Daemons call this on every accepted
 * connection and trust nothing the client says about itself. The same addon carries the
 * fd-based file calls (native/fsat.c), wrapped by ./fsat.ts; this module loads it.
 */
import type { AtStat } from './fsat.js';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Socket } from 'node:net';
import { VigoError } from './errors.js';

export interface PeerCred {
  pid: number;
  uid: number;
  gid: number;
}

/** The *at calls of native/fsat.c; names are single components, checked by ./fsat.ts. */
export interface NativeFsAt {
  O: Record<'RDONLY' | 'WRONLY' | 'RDWR' | 'CREAT' | 'EXCL' | 'TRUNC' | 'NOFOLLOW' | 'DIRECTORY' | 'CLOEXEC' | 'NONBLOCK', number>;
  openat(dirfd: number, name: string, flags: number, mode: number): number;
  openDir(path: string): number;
  mkdirat(dirfd: number, name: string, mode: number): void;
  unlinkat(dirfd: number, name: string, dir: boolean): void;
  renameat(fromDirfd: number, fromName: string, toDirfd: number, toName: string): void;
  fstatat(dirfd: number, name: string): AtStat | null;
  symlinkat(target: string, dirfd: number, name: string): void;
  readlinkat(dirfd: number, name: string): string;
  readdir(dirfd: number): string[];
}

export interface NativeAddon {
  getPeerCred(fd: number): PeerCred;
  /** added by the puddle branch; absent in an addon built before it */
  setNotDumpable?(): boolean;
  /** added with the fd-based file calls; absent in an addon built before them */
  fsat?: NativeFsAt;
}

let addon: NativeAddon | undefined;

/** Package root: dist/src/platform → ../../.. ; src/platform (tsx) → ../.. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const parts = here.split('/');
  const idx = parts.lastIndexOf('dist');
  return idx >= 0 ? parts.slice(0, idx).join('/') : join(here, '..', '..');
}

/** The addon, loaded once; VigoError E_NATIVE_MISSING when it is not built. */
export function loadNativeAddon(): NativeAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  const file = join(packageRoot(), 'build', 'Release', 'vigo_native.node');
  try {
    addon = require(file) as NativeAddon;
  } catch (e) {
    throw new VigoError('E_NATIVE_MISSING', `cannot load the native addon (SO_PEERCRED, fd-based file calls) at ${file}`, {
      hint: 'run `npm install` (it builds the addon with node-gyp)',
      cause: e,
    });
  }
  return addon;
}

export function peerCredOfFd(fd: number): PeerCred {
  return loadNativeAddon().getPeerCred(fd);
}

/** Credentials of the process on the other end of an accepted Unix socket. */
export function peerCred(sock: Socket): PeerCred {
  const handle = (sock as unknown as { _handle?: { fd?: number } })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new VigoError('E_PEERCRED', 'socket has no file descriptor to ask the kernel about');
  }
  return peerCredOfFd(fd);
}

/**
 * prctl(PR_SET_DUMPABLE, 0) for a process that holds a secret (the puddle session helper):
 * no core dumps, no ptrace or /proc/<pid>/mem by other processes of the same uid.
 * False when the built addon predates this call (rebuild with `npx node-gyp rebuild`).
 */
export function setNotDumpable(): boolean {
  const a = loadNativeAddon();
  return typeof a.setNotDumpable === 'function' ? a.setNotDumpable() : false;
}
