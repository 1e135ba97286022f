/**
 * Ed25519 keys over node:crypto. Public keys are raw 32 bytes (64 lowercase hex when
 * written); private keys are 32-byte seeds. KeyObjects are cached because importing a
 * key costs about as much as a verification.
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { TrustError } from './errors.js';
import { fromHex, isHex64, toHex, type Hex } from './hex.js';

const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface Signer {
  readonly publicKey: Uint8Array;
  sign(msg: Uint8Array): Promise<Uint8Array>;
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new TrustError('E_MALFORMED', 'an Ed25519 seed is 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function rawPublicKey(priv: KeyObject): Uint8Array {
  const der = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

export function generateKeyPair(): { publicKey: Uint8Array; seed: Uint8Array } {
  const seed = new Uint8Array(randomBytes(32));
  return { publicKey: publicKeyFromSeed(seed), seed };
}

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  return rawPublicKey(privateKeyObject(seed));
}

/** Accepts `<64 hex>` or `ed25519:<64 hex>` (either case); anything else is E_BAD_PUBKEY. */
export function parsePublicKey(s: string): Uint8Array {
  if (typeof s !== 'string') throw new TrustError('E_BAD_PUBKEY', 'a public key must be a string');
  const body = s.startsWith('ed25519:') ? s.slice(8) : s;
  if (!/^[0-9a-fA-F]{64}$/.test(body)) {
    throw new TrustError('E_BAD_PUBKEY', `not an Ed25519 public key: ${JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s)}`);
  }
  return fromHex(body);
}

/** Normalizes a key given as bytes, hex or `ed25519:hex` to 64 lowercase hex. */
export function pubkeyHex(pk: Uint8Array | string): Hex {
  if (pk instanceof Uint8Array) {
    if (pk.length !== 32) throw new TrustError('E_BAD_PUBKEY', `an Ed25519 public key is 32 bytes, got ${pk.length}`);
    return toHex(pk);
  }
  if (isHex64(pk)) return pk;
  return toHex(parsePublicKey(pk));
}

export function formatPublicKey(pk: Uint8Array | Hex): string {
  return `ed25519:${pubkeyHex(pk)}`;
}

export function signRaw(seed: Uint8Array, msg: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, msg, privateKeyObject(seed)));
}

// --- verification -------------------------------------------------------------------

// The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

/** True when the scalar S (bytes 32..63 of the signature, little-endian) is < L. */
function scalarIsCanonical(sig: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    const s = sig[32 + i]!;
    const l = L_LE[i]!;
    if (s < l) return true;
    if (s > l) return false;
  }
  return false; // S == L
}

const KEY_CACHE_MAX = 4096;
const keyCache = new Map<string, KeyObject | null>();

/** The KeyObject for a raw public key (given as lowercase hex), or null when OpenSSL refuses the encoding. */
function publicKeyObject(hex: Hex): KeyObject | null {
  let ko = keyCache.get(hex);
  if (ko === undefined) {
    try {
      ko = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
    } catch {
      ko = null;
    }
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
    keyCache.set(hex, ko);
  }
  return ko;
}

/**
 * Strict Ed25519 verification (RFC 8032 §5.1.7): a 32-byte key, a 64-byte signature whose
 * S is reduced mod L (no malleable twins), and OpenSSL's point checks. Never throws.
 */
export function verifyRaw(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (!(pk instanceof Uint8Array) || pk.length !== 32) return false;
  if (!(sig instanceof Uint8Array) || sig.length !== 64) return false;
  if (!(msg instanceof Uint8Array)) return false;
  if (!scalarIsCanonical(sig)) return false;
  const ko = publicKeyObject(toHex(pk));
  if (ko === null) return false;
  try {
    return verify(null, msg, ko, sig);
  } catch {
    return false;
  }
}

/** verifyRaw for a key and signature already validated as 64/128 lowercase hex. */
export function verifyHex(pkHex: Hex, msg: Uint8Array, sigHex: string): boolean {
  if (sigHex.length !== 128) return false;
  const sig = Buffer.from(sigHex, 'hex');
  if (sig.length !== 64 || !scalarIsCanonical(sig)) return false;
  const ko = publicKeyObject(pkHex);
  if (ko === null) return false;
  try {
    return verify(null, msg, ko, sig);
  } catch {
    return false;
  }
}

/** An in-memory signer (tests, daemons that hold the unwrapped seed). */
export function seedSigner(seed: Uint8Array): Signer {
  const priv = privateKeyObject(seed);
  const publicKey = rawPublicKey(priv);
  return {
    publicKey,
    sign: (msg: Uint8Array) => Promise.resolve(new Uint8Array(sign(null, msg, priv))),
  };
}
