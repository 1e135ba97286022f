/**
 * The kernel's word on who is calling: SO_PEERCRED through our small N-API addon
 * (native/peercred.c, built by node-gyp at install). Daemons call this on every accepted
 * connection and trust nothing the client says about itself.
 */
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

interface NativeAddon {
  getPeerCred(fd: number): PeerCred;
  /** added by the puddle branch; absent in an addon built before it */
  setNotDumpable?(): boolean;
}

let addon: NativeAddon | undefined;

/** Package root: dist/src/platform → ../../.. ; src/platform (tsx) → ../.. */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const parts = here.split('/');
  const idx = parts.lastIndexOf('dist');
  return idx >= 0 ? parts.slice(0, idx).join('/') : join(here, '..', '..');
}

function load(): NativeAddon {
  if (addon) return addon;
  const require = createRequire(import.meta.url);
  const file = join(packageRoot(), 'build', 'Release', 'vigo_native.node');
  try {
    addon = require(file) as NativeAddon;
  } catch (e) {
    throw new VigoError('E_NATIVE_MISSING', `cannot load the SO_PEERCRED addon at ${file}`, {
      hint: 'run `npm install` (it builds the addon with node-gyp)',
      cause: e,
    });
  }
  return addon;
}

export function peerCredOfFd(fd: number): PeerCred {
  return load().getPeerCred(fd);
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
  const a = load();
  return typeof a.setNotDumpable === 'function' ? a.setNotDumpable() : false;
}
