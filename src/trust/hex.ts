/** Hex encoding, and the field-level checks every signed object relies on. */
import { TrustError } from './errors.js';

export type Hex = string; // lowercase hex

const HEX_ANY = /^(?:[0-9a-fA-F]{2})*$/;
const HEX64 = /^[0-9a-f]{64}$/;

export function toHex(b: Uint8Array): Hex {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/** Strict: even length, hex digits only (either case); throws E_MALFORMED otherwise. */
export function fromHex(h: string): Uint8Array {
  if (typeof h !== 'string' || !HEX_ANY.test(h)) throw new TrustError('E_MALFORMED', `not a hex string: ${preview(h)}`);
  return new Uint8Array(Buffer.from(h, 'hex'));
}

// The same few keys, project ids and parent ids are checked on every request; looking a
// string up in a set of strings that already passed is several times cheaper than the
// regex. Only strings that passed are added, so membership proves the form. Bounded.
const KNOWN_HEX64_MAX = 1024;
const knownHex64 = new Set<string>();

/** 64 lowercase hex characters: the form of every key, id and hash inside a signed object. */
export function isHex64(s: unknown): s is Hex {
  if (typeof s !== 'string' || s.length !== 64) return false;
  if (knownHex64.has(s)) return true;
  if (!HEX64.test(s)) return false;
  if (knownHex64.size >= KNOWN_HEX64_MAX) knownHex64.clear();
  knownHex64.add(s);
  return true;
}

/** A short printable rendering of untrusted input for error messages, at most `max` characters. */
export function preview(v: unknown, max = 80): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : String(JSON.stringify(v) ?? typeof v);
  } catch {
    s = typeof v;
  }
  return s.length > max ? `${s.slice(0, max - 3)}...` : s;
}
