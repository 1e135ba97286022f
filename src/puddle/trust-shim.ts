/**
 * Stand-ins for the trust core functions the puddle uses, until src/trust lands on main
 * (then this file goes and the imports point at ../trust/index.js).
 */
export { generateKeyPair, publicKeyFromSeed, seedSigner, toHex, verifyRaw, type Signer } from './keys.js';
import { VigoError } from '../platform/errors.js';

function canon(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canon(o[k])}`)
    .join(',')}}`;
}

export function signingMessage(kind: string, body: object): Uint8Array {
  return new Uint8Array(Buffer.from(`vigo/${kind}/v1\n${canon(body)}`, 'utf8'));
}

export function formatPublicKey(pk: Uint8Array | string): string {
  return `ed25519:${typeof pk === 'string' ? pk : Buffer.from(pk).toString('hex')}`;
}

export function validateName(name: string): void {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/.test(name) || /^[0-9a-fA-F]{64}$/.test(name)) {
    throw new VigoError('E_BAD_NAME', `invalid name ${JSON.stringify(name)}: 1–64 of A-Z a-z 0-9 . _ -, no leading dot, not 64 hex characters`);
  }
}

export function parseStrictJson(text: string, opts: { what?: string } = {}): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new VigoError('E_MALFORMED', `${opts.what ?? 'input'}: not valid JSON (${(e as Error).message})`);
  }
}
