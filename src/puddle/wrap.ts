/**
 * The wrapped identity: the 32-byte Ed25519 seed sealed with XChaCha20-Poly1305 under a
 * key derived from the passphrase with Argon2id and a fresh 16-byte salt.
 *
 * identity.wrapped is versioned JSON that records the KDF parameters, so they can be
 * raised later without breaking old files (unwrap reads them from the file; wrap always
 * uses the current defaults). The salt lives in identity.salt (16 raw bytes). The AEAD's
 * associated data binds the format version, the KDF parameters, the salt and the public
 * key, so altering any of them makes unwrapping fail instead of yielding another key.
 *
 * No I/O here: randomness comes in as a parameter.
 */
import { argon2id } from 'hash-wasm';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { VigoError } from '../platform/errors.js';

export interface KdfParams {
  alg: 'argon2id';
  /** memory in KiB */
  m_kib: number;
  /** iterations (time cost) */
  t: number;
  /** lanes */
  p: number;
}

/**
 * RFC 9106's second recommended option (64 MiB, t=3, p=4): above the OWASP minimum
 * (19 MiB, t=2, p=1). About 250 ms per unlock on a 2-core CI box (bench/puddle-unlock.bench.ts).
 */
export const DEFAULT_KDF: KdfParams = { alg: 'argon2id', m_kib: 65536, t: 3, p: 4 };
/** OWASP's minimum for Argon2id: files weaker than this are refused. */
export const MIN_KDF = { m_kib: 19456, t: 2, p: 1 } as const;
/** Upper bounds, so a tampered file cannot make unlock allocate without limit. */
export const MAX_KDF = { m_kib: 4 * 1024 * 1024, t: 64, p: 64 } as const;

export const WRAP_VERSION = 1;
export const SALT_LEN = 16;
export const NONCE_LEN = 24;
export const SEED_LEN = 32;
const TAG_LEN = 16;

export interface WrappedKey {
  v: 1;
  kind: 'puddle-wrapped-key';
  kdf: KdfParams;
  aead: 'xchacha20-poly1305';
  pubkey: string;
  nonce: string;
  ciphertext: string;
}

function aad(w: Pick<WrappedKey, 'v' | 'kdf' | 'pubkey'>, salt: Uint8Array): Uint8Array {
  const s = `vigo-puddle-wrap/v${w.v}\nargon2id m=${w.kdf.m_kib} t=${w.kdf.t} p=${w.kdf.p}\nsalt=${Buffer.from(salt).toString('hex')}\npubkey=${w.pubkey}\n`;
  return new Uint8Array(Buffer.from(s, 'utf8'));
}

export async function deriveWrapKey(passphrase: string, salt: Uint8Array, kdf: KdfParams): Promise<Uint8Array> {
  return argon2id({
    password: passphrase.normalize('NFC'),
    salt,
    iterations: kdf.t,
    parallelism: kdf.p,
    memorySize: kdf.m_kib,
    hashLength: 32,
    outputType: 'binary',
  });
}

export interface WrapInput {
  seed: Uint8Array;
  publicKey: Uint8Array;
  passphrase: string;
  salt: Uint8Array;
  nonce: Uint8Array;
  kdf?: KdfParams;
}

export async function wrapSeed(input: WrapInput): Promise<WrappedKey> {
  if (input.seed.length !== SEED_LEN) throw new VigoError('E_PUDDLE_INTERNAL', 'seed must be 32 bytes');
  if (input.salt.length !== SALT_LEN || input.nonce.length !== NONCE_LEN) {
    throw new VigoError('E_PUDDLE_INTERNAL', 'salt must be 16 bytes and nonce 24 bytes');
  }
  const kdf = input.kdf ?? DEFAULT_KDF;
  checkKdf(kdf, 'kdf');
  const head = { v: 1 as const, kdf, pubkey: Buffer.from(input.publicKey).toString('hex') };
  const key = await deriveWrapKey(input.passphrase, input.salt, kdf);
  try {
    const ct = xchacha20poly1305(key, input.nonce, aad(head, input.salt)).encrypt(input.seed);
    return {
      v: 1,
      kind: 'puddle-wrapped-key',
      kdf: { ...kdf },
      aead: 'xchacha20-poly1305',
      pubkey: head.pubkey,
      nonce: Buffer.from(input.nonce).toString('hex'),
      ciphertext: Buffer.from(ct).toString('hex'),
    };
  } finally {
    key.fill(0);
  }
}

/**
 * Opens the wrapping. A wrong passphrase (or any altered byte of the file or salt) fails
 * the AEAD check and throws E_PUDDLE_BAD_PASSPHRASE; nothing about the key is revealed.
 */
export async function unwrapSeed(w: WrappedKey, salt: Uint8Array, passphrase: string, what: string): Promise<Uint8Array> {
  if (salt.length !== SALT_LEN) {
    throw new VigoError('E_PUDDLE_CORRUPT', `${what}: the salt must be ${SALT_LEN} bytes, found ${salt.length}`);
  }
  const key = await deriveWrapKey(passphrase, salt, w.kdf);
  try {
    return xchacha20poly1305(key, hexBytes(w.nonce), aad(w, salt)).decrypt(hexBytes(w.ciphertext));
  } catch {
    throw new VigoError('E_PUDDLE_BAD_PASSPHRASE', `wrong passphrase: it does not open ${what}`, {
      hint: 'try again with the passphrase given at `vigo swarm puddle init` (or the last `rotate-passphrase`)',
    });
  } finally {
    key.fill(0);
  }
}

function hexBytes(h: string): Uint8Array {
  return new Uint8Array(Buffer.from(h, 'hex'));
}

function checkKdf(k: KdfParams, field: string, what = 'KDF parameters'): void {
  const ok = (n: unknown, lo: number, hi: number) => Number.isSafeInteger(n) && (n as number) >= lo && (n as number) <= hi;
  if (k.alg !== 'argon2id') throw corrupt(what, `${field}.alg must be "argon2id"`);
  if (!ok(k.m_kib, MIN_KDF.m_kib, MAX_KDF.m_kib)) throw corrupt(what, `${field}.m_kib must be an integer in ${MIN_KDF.m_kib}..${MAX_KDF.m_kib}`);
  if (!ok(k.t, MIN_KDF.t, MAX_KDF.t)) throw corrupt(what, `${field}.t must be an integer in ${MIN_KDF.t}..${MAX_KDF.t}`);
  if (!ok(k.p, MIN_KDF.p, MAX_KDF.p)) throw corrupt(what, `${field}.p must be an integer in ${MIN_KDF.p}..${MAX_KDF.p}`);
  if (k.m_kib < 8 * k.p) throw corrupt(what, `${field}.m_kib must be at least 8 × p`);
}

function corrupt(what: string, msg: string): VigoError {
  return new VigoError('E_PUDDLE_CORRUPT', `${what}: ${msg}`, {
    hint: 'the file was altered or is not a vigo puddle file; restore it from a backup',
  });
}

function exactKeys(o: Record<string, unknown>, keys: string[], what: string, field: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw corrupt(what, `unknown field ${field}${k}`);
  for (const k of keys) if (!(k in o)) throw corrupt(what, `missing field ${field}${k}`);
}

const HEX = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`);

/** Strict parse of identity.wrapped; every complaint names the file and the field. */
export function parseWrapped(text: string, what: string): WrappedKey {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw corrupt(what, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw corrupt(what, 'must be a JSON object');
  const o = v as Record<string, unknown>;
  if (o.v !== WRAP_VERSION) {
    throw new VigoError('E_PUDDLE_CORRUPT', `${what}: unsupported format version ${JSON.stringify(o.v)} (this vigo reads version ${WRAP_VERSION})`, {
      hint: 'upgrade vigo, or restore the file from a backup',
    });
  }
  exactKeys(o, ['v', 'kind', 'kdf', 'aead', 'pubkey', 'nonce', 'ciphertext'], what, '');
  if (o.kind !== 'puddle-wrapped-key') throw corrupt(what, 'kind must be "puddle-wrapped-key"');
  if (o.aead !== 'xchacha20-poly1305') throw corrupt(what, 'aead must be "xchacha20-poly1305"');
  if (typeof o.kdf !== 'object' || o.kdf === null || Array.isArray(o.kdf)) throw corrupt(what, 'kdf must be an object');
  const kdf = o.kdf as Record<string, unknown>;
  exactKeys(kdf, ['alg', 'm_kib', 't', 'p'], what, 'kdf.');
  checkKdf(kdf as unknown as KdfParams, 'kdf', what);
  if (typeof o.pubkey !== 'string' || !HEX(64).test(o.pubkey)) throw corrupt(what, 'pubkey must be 64 lowercase hex');
  if (typeof o.nonce !== 'string' || !HEX(NONCE_LEN * 2).test(o.nonce)) throw corrupt(what, `nonce must be ${NONCE_LEN * 2} lowercase hex`);
  if (typeof o.ciphertext !== 'string' || !HEX((SEED_LEN + TAG_LEN) * 2).test(o.ciphertext)) {
    throw corrupt(what, `ciphertext must be ${(SEED_LEN + TAG_LEN) * 2} lowercase hex`);
  }
  return {
    v: 1,
    kind: 'puddle-wrapped-key',
    kdf: { alg: 'argon2id', m_kib: kdf.m_kib as number, t: kdf.t as number, p: kdf.p as number },
    aead: 'xchacha20-poly1305',
    pubkey: o.pubkey,
    nonce: o.nonce,
    ciphertext: o.ciphertext,
  };
}

export function serializeWrapped(w: WrappedKey): string {
  return JSON.stringify(w, null, 2) + '\n';
}
