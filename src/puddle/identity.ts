/**
 * The puddle's identity as other code asks about it: where it lives, whether it is
 * initialized and unlocked, its public key, its name claim, and the session marker root
 * reads. Re-exported by index.ts; kept apart from it so that puddle files can use these
 * without importing their own surface (status.ts did: a cycle).
 */
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { paths } from '../platform/paths.js';
import { puddlePath } from './layout.js';
import { processAlive } from './lock.js';
import { hasIdentity, readPubFile, readPublicKeySettled, settle } from './store.js';
import { readNameClaimFile, type NameClaim } from './name.js';
import type { SessionUnlockedFile } from './session/helper.js';
import { toHex } from '../trust/index.js';

export function puddleDir(env: NodeJS.ProcessEnv): string {
  return paths.puddleDir(env);
}

export function isInitialized(dir: string): boolean {
  settle(dir);
  return hasIdentity(dir);
}

export function readPublicKey(dir: string): Uint8Array {
  return readPublicKeySettled(dir);
}

/** session.unlocked present AND the helper answers STATUS for this identity. */
export function isUnlocked(dir: string): boolean {
  if (!existsSync(puddlePath(dir, 'socket'))) return false;
  const marker = readSessionUnlocked(dir);
  if (marker === null || !processAlive(marker.pid, null)) return false; // cheap answer for a dead helper's leftovers
  let pubHex: string;
  try {
    pubHex = toHex(readPublicKey(dir));
  } catch {
    return false;
  }
  const probe = fileURLToPath(new URL('./session/probe-main.js', import.meta.url));
  const r = spawnSync(process.execPath, [probe, dir, pubHex], { stdio: 'ignore', timeout: 5000 });
  return r.status === 0;
}

/** ~/.vigo-puddle/name-claim.json, verified (shape, name rules, signature, and that it is this puddle's). */
export function readNameClaim(dir: string): NameClaim | null {
  settle(dir);
  const pub = hasIdentity(dir) ? toHex(readPubFile(dir)) : undefined;
  return readNameClaimFile(dir, pub);
}

/**
 * For root-run collectors: ~/.vigo-puddle/session.unlocked as the helper wrote it, or null
 * when there is none (locked) or it is not one of ours. Never contacts the helper (root is
 * refused there anyway). A helper killed with SIGKILL can leave the file behind; callers
 * that care check that `pid` is alive.
 */
export function readSessionUnlocked(dir: string): SessionUnlockedFile | null {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(puddlePath(dir, 'unlocked'), 'utf8'));
  } catch {
    return null;
  }
  const o = v as Partial<SessionUnlockedFile>;
  const int = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (typeof v !== 'object' || v === null || o.v !== 1 || !int(o.pid) || typeof o.pubkey !== 'string' || !/^[0-9a-f]{64}$/.test(o.pubkey)) return null;
  if (!int(o.unlocked_at) || !int(o.idle_timeout_s) || !(o.watch_pid === null || int(o.watch_pid))) return null;
  return { v: 1, pid: o.pid as number, pubkey: o.pubkey, unlocked_at: o.unlocked_at as number, idle_timeout_s: o.idle_timeout_s as number, watch_pid: o.watch_pid ?? null };
}
