/**
 * The files of a puddle directory (~/.vigo-puddle) and their exact modes. Everything
 * else in src/puddle names files through here.
 */
import { join } from 'node:path';

export const DIR_MODE = 0o700;
export const PRIVATE_MODE = 0o600;
export const PUBLIC_MODE = 0o644;

export const FILES = {
  wrapped: 'identity.wrapped',
  salt: 'identity.salt',
  pub: 'identity.pub',
  nameClaim: 'name-claim.json',
  unlocked: 'session.unlocked',
  socket: 'session.sock',
  log: 'session.log',
  lock: '.lock',
  rekeyPending: 'rekey.pending.json',
  retiredDir: 'retired',
} as const;

export type PuddleFile = keyof typeof FILES;

export function puddlePath(dir: string, file: PuddleFile): string {
  return join(dir, FILES[file]);
}

export function retiredPaths(dir: string, pubHex: string): { wrapped: string; salt: string } {
  return {
    wrapped: join(dir, FILES.retiredDir, `${pubHex}.wrapped`),
    salt: join(dir, FILES.retiredDir, `${pubHex}.salt`),
  };
}
