/**
 * The one place gitback touches the puddle (the user's Ed25519 identity). Verbs receive
 * these through `GitbackDeps` so tests can substitute an in-memory signer.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths, type Env } from '../platform/paths.js';
import { VigoError } from '../platform/errors.js';

export function puddleDirOf(env: Env): string {
  return paths.puddleDir(env);
}

/** The user's puddle public key (raw 32 bytes), from ~/.vigo-puddle/identity.pub. */
export function readPuddlePublicKey(env: Env): Uint8Array {
  const file = join(puddleDirOf(env), 'identity.pub');
  if (!existsSync(file)) {
    throw new VigoError('E_PUDDLE_NOT_INITIALIZED', `no puddle identity for this user (${file} is missing)`, {
      hint: 'run `vigo swarm puddle init`',
    });
  }
  const text = readFileSync(file, 'utf8').trim().replace(/^ed25519:/, '');
  if (!/^[0-9a-f]{64}$/.test(text)) throw new VigoError('E_MALFORMED', `${file}: not a 64-hex public key`);
  return Buffer.from(text, 'hex');
}

/** The caller's own name claim, if any ({name, pubkey}); unreadable claims count as none. */
export function ownNameClaim(env: Env): { name: string; pubkey: string } | null {
  const file = join(puddleDirOf(env), 'name-claim.json');
  if (!existsSync(file)) return null;
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const name = v.name;
    const pk = typeof v.pubkey === 'string' ? v.pubkey.replace(/^ed25519:/, '') : null;
    if (typeof name === 'string' && pk !== null && /^[0-9a-f]{64}$/.test(pk)) return { name, pubkey: pk };
  } catch {
    /* a broken claim resolves nothing */
  }
  return null;
}

interface PuddleApi {
  sessionSigner(dir?: string): Promise<import('../trust/index.js').Signer>;
  readPublicKey(dir?: string): Uint8Array;
  readNameClaim(dir?: string): { name: string; pubkey: string } | null;
}

/**
 * The puddle module, loaded lazily (the CLI only needs it for verbs that sign).
 */
export async function puddleApi(): Promise<PuddleApi | null> {
  const spec = '../puddle/index.js';
  try {
    return (await import(spec)) as PuddleApi;
  } catch {
    return null;
  }
}
