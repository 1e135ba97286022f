/**
 * Ed25519 through node:crypto, as far as the puddle needs it before the trust core lands.
 * (Replaced by src/trust once it is on main.)
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/** The signing-key half of the puddle API: the same shape as the trust core's Signer. */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(msg: Uint8Array): Promise<Uint8Array>;
}

const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function privateKeyObject(seed: Uint8Array): KeyObject {
  const der = Buffer.concat([PKCS8_PREFIX, seed]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0);
  }
}

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

export function generateKeyPair(): { publicKey: Uint8Array; seed: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pk8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = new Uint8Array(pk8.subarray(PKCS8_PREFIX.length));
  pk8.fill(0);
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)), seed };
}

export function signWithKey(key: KeyObject, msg: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, msg, key));
}

export function verifyRaw(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (pk.length !== 32 || sig.length !== 64) return false;
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pk]), format: 'der', type: 'spki' });
  return verify(null, msg, key, sig);
}

/** An in-process signer over a seed (rekey uses it for the retired key). */
export function seedSigner(seed: Uint8Array): Signer {
  const key = privateKeyObject(seed);
  const publicKey = publicKeyFromSeed(seed);
  return { publicKey, sign: (msg) => Promise.resolve(signWithKey(key, msg)) };
}
