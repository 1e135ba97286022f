/** Project identity, handles and names, and the `--expires` flag. */
import { createHash } from 'node:crypto';
import { TrustError } from './errors.js';
import type { Hex } from './hex.js';

const NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;
const HEX64_ANY_CASE = /^[0-9a-fA-F]{64}$/;

function nameProblem(s: unknown): string | null {
  if (typeof s !== 'string') return 'must be a string';
  if (s.length === 0) return 'is empty';
  if (s.length > 64) return `is ${s.length} characters long (at most 64)`;
  if (s.startsWith('.')) return 'starts with a dot';
  if (!NAME.test(s)) return 'may hold only A-Z a-z 0-9 . _ -';
  if (HEX64_ANY_CASE.test(s)) return 'looks like a 64-hex id';
  return null;
}

export function validateHandle(handle: string): void {
  const p = nameProblem(handle);
  if (p !== null) throw new TrustError('E_BAD_HANDLE', `handle ${JSON.stringify(String(handle).slice(0, 80))} ${p}`);
}

export function validateName(name: string): void {
  const p = nameProblem(name);
  if (p !== null) throw new TrustError('E_BAD_NAME', `name ${JSON.stringify(String(name).slice(0, 80))} ${p}`);
}

export function isValidHandle(s: unknown): s is string {
  return nameProblem(s) === null;
}

/** sha256(raw 32-byte founder pubkey ‖ UTF-8 handle), 64 lowercase hex. */
export function projectId(founderPubkey: Uint8Array, handle: string): Hex {
  if (!(founderPubkey instanceof Uint8Array) || founderPubkey.length !== 32) {
    throw new TrustError('E_BAD_PUBKEY', 'a founder public key is 32 bytes');
  }
  validateHandle(handle);
  return createHash('sha256').update(founderPubkey).update(handle, 'utf8').digest('hex');
}

export const SECONDS_PER_DAY = 86_400;
export const MAX_EXPIRES_DAYS = 36_500;

/** `30d` or bare `30` → 30 days in seconds. Whole days from 1 to 36500. */
export function parseExpires(s: string): number {
  const m = typeof s === 'string' ? /^([1-9][0-9]{0,5})d?$/.exec(s) : null;
  const days = m === null ? NaN : Number(m[1]);
  if (!(days >= 1 && days <= MAX_EXPIRES_DAYS)) {
    throw new TrustError('E_BAD_EXPIRES', `--expires ${JSON.stringify(s)}: expected a whole number of days from 1 to ${MAX_EXPIRES_DAYS}, like 30d`);
  }
  return days * SECONDS_PER_DAY;
}
