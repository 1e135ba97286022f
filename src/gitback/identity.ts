/**
 * The one place gitback touches the puddle (the user's Ed25519 identity, CONTRACTS §2).
 * Verbs receive these through GitbackContext so tests can substitute an in-memory signer.
 */
import { readNameClaim, readPublicKey, sessionSigner, puddleDir } from '../puddle/index.js';
import type { Signer } from '../trust/index.js';
import type { Env } from '../platform/paths.js';

export function puddleDirOf(env: Env): string {
  return puddleDir(env as NodeJS.ProcessEnv);
}

/** The user's puddle public key (raw 32 bytes); E_PUDDLE_NOT_INITIALIZED when there is none. */
export function readPuddlePublicKey(env: Env): Uint8Array {
  return readPublicKey(puddleDirOf(env));
}

export function puddleSigner(env: Env): Promise<Signer> {
  return sessionSigner(puddleDirOf(env));
}

/** The caller's own verified name claim, if any ({name, pubkey hex}); a broken claim resolves nothing. */
export function ownNameClaim(env: Env): { name: string; pubkey: string } | null {
  try {
    const c = readNameClaim(puddleDirOf(env));
    return c ? { name: c.name, pubkey: c.pubkey } : null;
  } catch {
    return null;
  }
}
