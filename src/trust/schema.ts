/** Field-level shape checks shared by every signed object. All failures are E_MALFORMED naming the field. */
import { TrustError } from './errors.js';
import { isHex64, preview } from './hex.js';

export const SIG_HEX = /^[0-9a-f]{128}$/;
export const NONCE_HEX = /^[0-9a-f]{32}$/;

export function malformed(path: string, msg: string): never {
  throw new TrustError('E_MALFORMED', `${path}: ${msg}`);
}

// The field checks below take the object's path and, optionally, the field's key: the
// full path (`chain[2].issuer`) is only built for the error, never on the verifier's hot path.
const at = (path: string, key: string | undefined): string => (key === undefined ? path : `${path}.${key}`);

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** The value must be a plain object with exactly these keys. */
export function exactObject(v: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(v)) malformed(path, `expected an object, got ${preview(v)}`);
  // Same count and every expected key present means no unknown key either.
  let ok = ownKeyCount(v) === keys.length;
  for (let i = 0; ok && i < keys.length; i++) ok = Object.prototype.hasOwnProperty.call(v, keys[i]!);
  if (!ok) {
    for (const k of Object.keys(v)) if (!keys.includes(k)) malformed(`${path}.${k}`, 'unknown field');
    for (const k of keys) if (!Object.prototype.hasOwnProperty.call(v, k)) malformed(`${path}.${k}`, 'missing field');
  }
  return v;
}

export function ownKeyCount(v: object): number {
  let n = 0;
  for (const k in v) if (Object.prototype.hasOwnProperty.call(v, k)) n++;
  return n;
}

export function hex64(v: unknown, path: string, key?: string): string {
  if (!isHex64(v)) malformed(at(path, key), `expected 64 lowercase hex characters, got ${preview(v)}`);
  return v;
}

export function hex64OrNull(v: unknown, path: string, key?: string): string | null {
  return v === null ? null : hex64(v, path, key);
}

export function sigHex(v: unknown, path: string, key?: string): string {
  if (typeof v !== 'string' || !SIG_HEX.test(v)) malformed(at(path, key), `expected a 128-hex-character Ed25519 signature, got ${preview(v)}`);
  return v;
}

/** A time or counter: a non-negative safe integer (unix seconds for times). */
export function uint(v: unknown, path: string, key?: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) malformed(at(path, key), `expected a non-negative integer, got ${preview(v)}`);
  return v;
}

export function uintOrNull(v: unknown, path: string, key?: string): number | null {
  return v === null ? null : uint(v, path, key);
}

export function literal<T extends string | number>(v: unknown, path: string, want: T, key?: string): T {
  if (v !== want) malformed(at(path, key), `expected ${JSON.stringify(want)}, got ${preview(v)}`);
  return want;
}

export function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) malformed(path, `expected an array, got ${preview(v)}`);
  return v;
}
