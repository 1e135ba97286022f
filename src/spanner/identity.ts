/**
 * A bolt's own Ed25519 identity: made at the first start in spanner mode, kept in
 * `<secrets dir>/spanner-bolt.key` (0600, written atomically) as its 32-byte seed sealed
 * with AES-256-GCM under a key derived from the secrets master key (server/secrets.ts
 * masterKeyWrap, domain `vigo/spanner-bolt-key/v1`; the file's pubkey is the AAD, so a
 * file whose pubkey was edited does not open). Its pubkey is the bolt's name in the roster:
 * losing the file (or the master key) makes a new bolt that must be admitted again.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/atomic.js';
import { VigoError } from '../platform/errors.js';
import { generateKeyPair, pubkeyHex, publicKeyFromSeed, seedSigner, type Hex, type Signer } from '../trust/index.js';

/** The domain of the wrap key (HKDF info): this key wraps nothing else. */
export const BOLT_KEY_WRAP_DOMAIN = 'vigo/spanner-bolt-key/v1';

/** Seals and opens bytes at rest (the shape of server/secrets.ts KeyWrap). */
export interface KeyWrap {
  seal(aad: string, value: Buffer): string;
  open(aad: string, text: string, file: string): Buffer;
}

export interface BoltIdentity {
  pubkey: Hex;
  signer: Signer;
  file: string;
}

export function boltKeyFile(secretsDir: string): string {
  return join(secretsDir, 'spanner-bolt.key');
}

interface KeyFileDoc {
  v: 1;
  kind: 'spanner-bolt-key';
  pubkey: Hex;
  sealed: string;
}

/** Loads the bolt identity from `file`, creating it when absent. Returns `created` for the log. */
export function loadOrCreateBoltIdentity(file: string, wrap: KeyWrap): BoltIdentity & { created: boolean } {
  if (!existsSync(file)) {
    const { seed, publicKey } = generateKeyPair();
    const pubkey = pubkeyHex(publicKey);
    const doc: KeyFileDoc = { v: 1, kind: 'spanner-bolt-key', pubkey, sealed: wrap.seal(pubkey, Buffer.from(seed)) };
    writeFileAtomic(file, JSON.stringify(doc) + '\n', { mode: 0o600, mkdirMode: 0o700 });
    return { pubkey, signer: seedSigner(seed), file, created: true };
  }
  let doc: KeyFileDoc;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as KeyFileDoc;
  } catch (e) {
    throw new VigoError('E_BOLT_KEY', `${file}: not a bolt key file (${e instanceof Error ? e.message : String(e)})`, { hint: 'restore it from backup; moving it aside makes a new bolt identity that must be admitted again' });
  }
  if (doc?.v !== 1 || doc.kind !== 'spanner-bolt-key' || typeof doc.pubkey !== 'string' || !/^[0-9a-f]{64}$/.test(doc.pubkey) || typeof doc.sealed !== 'string') {
    throw new VigoError('E_BOLT_KEY', `${file}: not a bolt key file (expected v 1, kind spanner-bolt-key, pubkey, sealed)`, { hint: 'restore it from backup' });
  }
  const seed = wrap.open(doc.pubkey, doc.sealed, file);
  if (seed.length !== 32 || pubkeyHex(publicKeyFromSeed(seed)) !== doc.pubkey) {
    throw new VigoError('E_BOLT_KEY', `${file}: the sealed key does not match its pubkey ${doc.pubkey.slice(0, 16)}…`, { hint: 'restore it from backup' });
  }
  return { pubkey: doc.pubkey, signer: seedSigner(seed), file, created: false };
}
