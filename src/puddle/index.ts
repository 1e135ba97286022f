/**
 * The puddle: one Unix user's Ed25519 identity, wrapped by a passphrase on disk and served,
 * while unlocked, by a per-user session helper. This is the surface other subsystems use
 * (CONTRACTS.md §2); the rest of src/puddle is private by convention.
 */
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { paths } from '../platform/paths.js';
import { VigoError } from '../platform/errors.js';
import { puddlePath } from './layout.js';
import { journalPending, recoverJournal } from './journal.js';
import { withDirLockSync } from './lock.js';
import { hasIdentity, lockPath, readPubFile } from './store.js';
import { readNameClaimFile, type NameClaim } from './name.js';
import { UNLOCK_HINT, request, sessionStatus } from './session/client.js';
import type { SessionUnlockedFile } from './session/helper.js';
import { toHex, verifyRaw, type Signer } from '../trust/index.js';

export type { NameClaim } from './name.js';
export type { SessionUnlockedFile } from './session/helper.js';
export { puddleStatus, type PuddleStatus } from './status.js';
export { registerRekeyHook, type RekeyHook, type RekeyContext, type RekeyPreflightContext } from './rekey.js';

export function puddleDir(env: NodeJS.ProcessEnv = process.env): string {
  return paths.puddleDir(env);
}

/** Finishes an interrupted change first (when we may), so readers never see half of one. */
function settle(dir: string): void {
  try {
    if (!existsSync(dir) || !journalPending(dir)) return;
    withDirLockSync(lockPath(dir), () => recoverJournal(dir));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
  }
}

export function isInitialized(dir: string = puddleDir()): boolean {
  settle(dir);
  return hasIdentity(dir);
}

export function readPublicKey(dir: string = puddleDir()): Uint8Array {
  settle(dir);
  return readPubFile(dir);
}

/** session.unlocked present AND the helper answers STATUS for this identity. */
export function isUnlocked(dir: string = puddleDir()): boolean {
  if (!existsSync(puddlePath(dir, 'unlocked')) || !existsSync(puddlePath(dir, 'socket'))) return false;
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

function locked(dir: string): VigoError {
  return new VigoError('E_PUDDLE_LOCKED', `the puddle in ${dir} is locked`, { hint: UNLOCK_HINT });
}

/** A Signer whose key stays in the session helper; every sign() is one SIGN request. */
export async function sessionSigner(dir: string = puddleDir()): Promise<Signer> {
  const publicKey = readPublicKey(dir);
  const pubHex = toHex(publicKey);
  const st = await sessionStatus(dir);
  if (st === null) throw locked(dir);
  if (st.pubkey !== pubHex) {
    throw new VigoError('E_PUDDLE_LOCKED', `the running session holds ${st.pubkey}, not this puddle's key ${pubHex}`, { hint: UNLOCK_HINT });
  }
  const sockPath = puddlePath(dir, 'socket');
  return {
    publicKey,
    async sign(msg: Uint8Array): Promise<Uint8Array> {
      let a;
      try {
        a = await request(sockPath, { op: 'SIGN', msg: Buffer.from(msg).toString('base64') });
      } catch (e) {
        if (e instanceof VigoError) throw e;
        throw locked(dir);
      }
      if (!a.ok) throw a.code === 'E_PUDDLE_LOCKED' ? locked(dir) : new VigoError(a.code, `session helper: ${a.message}`);
      if (!('sig' in a)) throw new VigoError('E_PUDDLE_SESSION', 'session helper answered SIGN without a signature');
      const sig = new Uint8Array(Buffer.from(a.sig, 'hex'));
      if (!verifyRaw(publicKey, msg, sig)) throw new VigoError('E_PUDDLE_SESSION', 'the session helper returned a signature that does not verify');
      return sig;
    },
  };
}

/** ~/.vigo-puddle/name-claim.json, verified (shape, name rules, signature, and that it is this puddle's). */
export function readNameClaim(dir: string = puddleDir()): NameClaim | null {
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
export function readSessionUnlocked(dir: string = puddleDir()): SessionUnlockedFile | null {
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
