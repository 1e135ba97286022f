/**
 * The wrapped identity on disk: init, read, unwrap, rotate the passphrase. Every
 * multi-file change goes through the journal (journal.ts) under the directory lock.
 */
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { VigoError } from '../platform/errors.js';
import { commitChange, ensureDir, recoverJournal, journalPending } from './journal.js';
import { NO_CRASH_POINTS, type CrashEnv } from './crash.js';
import { withDirLock, withDirLockSync } from './lock.js';
import { generateKeyPair, publicKeyFromSeed, toHex } from '../trust/index.js';
import { FILES, PRIVATE_MODE, PUBLIC_MODE, puddlePath } from './layout.js';
import { DEFAULT_KDF, NONCE_LEN, SALT_LEN, parseWrapped, serializeWrapped, unwrapSeed, wrapSeed, type KdfParams, type WrappedKey } from './wrap.js';

export const INIT_HINT = 'run `vigo swarm puddle init` first';

export function notInitialized(dir: string): VigoError {
  return new VigoError('E_PUDDLE_NOT_INITIALIZED', `no puddle identity in ${dir}`, { hint: INIT_HINT });
}

export function hasIdentity(dir: string): boolean {
  return existsSync(puddlePath(dir, 'wrapped')) && existsSync(puddlePath(dir, 'pub')) && existsSync(puddlePath(dir, 'salt'));
}

export function parsePubFile(text: string, what: string): Uint8Array {
  const m = /^([0-9a-f]{64})\n?$/.exec(text);
  if (!m) {
    throw new VigoError('E_PUDDLE_CORRUPT', `${what}: must hold 64 lowercase hex characters and a newline`, {
      hint: 'restore the file from a backup (it is the public half of identity.wrapped)',
    });
  }
  return new Uint8Array(Buffer.from(m[1] as string, 'hex'));
}

/** Finishes an interrupted change first (when we may), so readers never see half of one. */
export function settle(dir: string): void {
  try {
    if (!existsSync(dir) || !journalPending(dir)) return;
    withDirLockSync(lockPath(dir), () => recoverJournal(dir, NO_CRASH_POINTS));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EACCES') throw e;
  }
}

/** identity.pub after settling any interrupted change. */
export function readPublicKeySettled(dir: string): Uint8Array {
  settle(dir);
  return readPubFile(dir);
}

/** Reads identity.pub (one file, written atomically: no lock needed). */
export function readPubFile(dir: string): Uint8Array {
  const p = puddlePath(dir, 'pub');
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notInitialized(dir);
    throw new VigoError('E_PUDDLE_UNREADABLE', `cannot read ${p}: ${(e as Error).message}`);
  }
  return parsePubFile(text, p);
}

/** Checks that the puddle directory is a real directory owned by us, then sets mode 0700. */
export function preparePuddleDir(dir: string): void {
  if (existsSync(dir)) {
    const st = lstatSync(dir);
    if (!st.isDirectory()) throw new VigoError('E_PUDDLE_DIR', `${dir} exists and is not a directory`, { hint: `move ${dir} away and retry` });
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
      throw new VigoError('E_PUDDLE_DIR', `${dir} belongs to uid ${st.uid}, not to you (uid ${process.getuid()})`, {
        hint: 'run vigo swarm puddle as the user who owns the puddle',
      });
    }
  }
  ensureDir(dir);
}

export interface IdentityFiles {
  wrapped: WrappedKey;
  salt: Uint8Array;
  publicKey: Uint8Array;
}

/** Reads the three identity files and checks they belong together. Call under the lock. */
export function readIdentityFiles(dir: string): IdentityFiles {
  if (!hasIdentity(dir)) throw notInitialized(dir);
  const wp = puddlePath(dir, 'wrapped');
  const wrapped = parseWrapped(readFileSync(wp, 'utf8'), wp);
  const salt = new Uint8Array(readFileSync(puddlePath(dir, 'salt')));
  if (salt.length !== SALT_LEN) {
    throw new VigoError('E_PUDDLE_CORRUPT', `${puddlePath(dir, 'salt')}: must be ${SALT_LEN} bytes, found ${salt.length}`);
  }
  const publicKey = readPubFile(dir);
  if (toHex(publicKey) !== wrapped.pubkey) {
    throw new VigoError('E_PUDDLE_CORRUPT', `${puddlePath(dir, 'pub')} does not match the pubkey recorded in ${wp}`, {
      hint: 'restore the puddle directory from a backup',
    });
  }
  return { wrapped, salt, publicKey };
}

export function lockPath(dir: string): string {
  return puddlePath(dir, 'lock');
}

/** Runs fn under the directory lock, after finishing or dropping any interrupted change. */
export async function underLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  preparePuddleDir(dir);
  return withDirLock(lockPath(dir), async () => {
    recoverJournal(dir, NO_CRASH_POINTS);
    return fn();
  });
}

/** Finishes an interrupted change if one is pending (cheap check first). */
export async function recoverIfNeeded(dir: string): Promise<void> {
  if (existsSync(dir) && journalPending(dir)) await underLock(dir, () => Promise.resolve());
}

export interface Sealed {
  wrappedText: string;
  salt: Uint8Array;
}

/** Seals a seed under a passphrase with a fresh salt and nonce and the current KDF defaults. */
export async function seal(seed: Uint8Array, publicKey: Uint8Array, passphrase: string, kdf: KdfParams = DEFAULT_KDF): Promise<Sealed> {
  const salt = new Uint8Array(randomBytes(SALT_LEN));
  const nonce = new Uint8Array(randomBytes(NONCE_LEN));
  const wrapped = await wrapSeed({ seed, publicKey, passphrase, salt, nonce, kdf });
  return { wrappedText: serializeWrapped(wrapped), salt };
}

export function identityFiles(sealed: Sealed, publicKey: Uint8Array): { path: string; data: string | Uint8Array; mode: number }[] {
  // identity.wrapped goes last: it is what isInitialized looks for first
  return [
    { path: FILES.pub, data: toHex(publicKey) + '\n', mode: PUBLIC_MODE },
    { path: FILES.salt, data: sealed.salt, mode: PRIVATE_MODE },
    { path: FILES.wrapped, data: sealed.wrappedText, mode: PRIVATE_MODE },
  ];
}

/** init never overwrites: any identity file present is a refusal. */
export function assertNoIdentity(dir: string): void {
  for (const f of ['wrapped', 'pub', 'salt'] as const) {
    if (existsSync(puddlePath(dir, f))) {
      throw new VigoError('E_PUDDLE_EXISTS', `a puddle identity already exists: ${puddlePath(dir, f)}`, {
        hint: 'keep it (`vigo swarm puddle status`), or change it with `rotate-passphrase` / `rekey-pair`; init never overwrites an identity',
      });
    }
  }
}

/** @param env the entry point's environment (its VIGO_TEST_CRASH_AT, see crash.ts) */
export async function initIdentity(dir: string, passphrase: string, env: CrashEnv, opts: { kdf?: KdfParams } = {}): Promise<Uint8Array> {
  return underLock(dir, async () => {
    assertNoIdentity(dir);
    const { publicKey, seed } = generateKeyPair();
    try {
      const sealed = await seal(seed, publicKey, passphrase, opts.kdf);
      commitChange(dir, { op: 'init', put: identityFiles(sealed, publicKey) }, env);
    } finally {
      seed.fill(0);
    }
    return publicKey;
  });
}

/** Opens identity.wrapped. Call under the lock. The caller must zero the seed. */
export async function openIdentity(dir: string, passphrase: string): Promise<{ seed: Uint8Array; publicKey: Uint8Array; files: IdentityFiles }> {
  const files = readIdentityFiles(dir);
  const seed = await unwrapSeed(files.wrapped, files.salt, passphrase, puddlePath(dir, 'wrapped'));
  if (toHex(publicKeyFromSeed(seed)) !== files.wrapped.pubkey) {
    seed.fill(0);
    throw new VigoError('E_PUDDLE_CORRUPT', `${puddlePath(dir, 'wrapped')}: the key inside does not match its recorded pubkey`, {
      hint: 'restore the puddle directory from a backup',
    });
  }
  return { seed, publicKey: files.publicKey, files };
}

export async function unwrapIdentity(dir: string, passphrase: string): Promise<{ seed: Uint8Array; publicKey: Uint8Array }> {
  return underLock(dir, async () => {
    const { seed, publicKey } = await openIdentity(dir, passphrase);
    return { seed, publicKey };
  });
}

export async function rotatePassphrase(dir: string, oldPass: string, newPass: string, env: CrashEnv): Promise<Uint8Array> {
  return underLock(dir, async () => {
    if (existsSync(puddlePath(dir, 'rekeyPending'))) {
      throw new VigoError('E_PUDDLE_REKEY_PENDING', 'an interrupted rekey-pair has not finished; the passphrase cannot change now', {
        hint: 'run `vigo swarm puddle rekey-pair` to finish it first',
      });
    }
    const { seed, publicKey } = await openIdentity(dir, oldPass);
    try {
      const sealed = await seal(seed, publicKey, newPass);
      commitChange(dir, { op: 'rotate', put: identityFiles(sealed, publicKey).filter((f) => f.path !== FILES.pub) }, env);
    } finally {
      seed.fill(0);
    }
    return publicKey;
  });
}
