/**
 * RFC 8785 (JCS) canonical JSON. Only plain JSON values are accepted: null, booleans,
 * finite numbers, well-formed strings, arrays and plain objects. Anything else (undefined,
 * NaN, lone surrogates, Dates, Maps, class instances, cycles) throws E_MALFORMED rather
 * than being silently dropped or coerced the way JSON.stringify would.
 */
import * as nodeCrypto from 'node:crypto';
import { TrustError } from './errors.js';
import type { Hex } from './hex.js';

const MAX_DEPTH = 512;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

/** JCS string: JSON.stringify's escaping (ES2019+) is exactly RFC 8785 §3.2.2.2 once lone surrogates are excluded. */
export function canonicalString(s: string, path = '$'): string {
  if (LONE_SURROGATE.test(s)) throw new TrustError('E_MALFORMED', `${path}: string holds a lone surrogate`);
  return JSON.stringify(s);
}

function emit(v: unknown, path: string, depth: number): string {
  switch (typeof v) {
    case 'string':
      return canonicalString(v, path);
    case 'number':
      // Number::toString is the ES6 serialization RFC 8785 §3.2.2.3 mandates; -0 becomes "0".
      if (!Number.isFinite(v)) throw new TrustError('E_MALFORMED', `${path}: ${String(v)} is not a JSON number`);
      return String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (depth >= MAX_DEPTH) throw new TrustError('E_MALFORMED', `${path}: nested deeper than ${MAX_DEPTH} (or cyclic)`);
      if (Array.isArray(v)) {
        let out = '[';
        for (let i = 0; i < v.length; i++) {
          if (!(i in v)) throw new TrustError('E_MALFORMED', `${path}[${i}]: array hole`);
          out += (i === 0 ? '' : ',') + emit(v[i], `${path}[${i}]`, depth + 1);
        }
        return out + ']';
      }
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw new TrustError('E_MALFORMED', `${path}: not a plain object (${(v as object).constructor?.name ?? 'unknown'})`);
      }
      // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 requires.
      const keys = Object.keys(v).sort();
      let out = '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i]!;
        const sub = `${path}.${k}`;
        out += (i === 0 ? '' : ',') + canonicalString(k, sub) + ':' + emit((v as Record<string, unknown>)[k], sub, depth + 1);
      }
      return out + '}';
    }
    default:
      throw new TrustError('E_MALFORMED', `${path}: ${typeof v} is not a JSON value`);
  }
}

export function canonicalize(value: unknown): string {
  return emit(value, '$', 0);
}

export function canonicalBytes(value: unknown): Uint8Array {
  return new Uint8Array(Buffer.from(canonicalize(value), 'utf8'));
}

// crypto.hash (node >= 20.12) hashes in one call; a createHash object costs as much again
// (a native handle per call, collected later), which is most of an id's price.
const oneShotHash = typeof nodeCrypto.hash === 'function' ? nodeCrypto.hash : undefined;

/** sha256 of bytes, or of a string's UTF-8 bytes, as 64 lowercase hex. */
export function sha256Hex(b: Uint8Array | string): Hex {
  return oneShotHash !== undefined ? oneShotHash('sha256', b, 'hex') : nodeCrypto.createHash('sha256').update(b).digest('hex');
}

/** The object without its `sig` member (a shallow copy; the input is not modified). */
export function withoutSig(body: object): unknown {
  if (Array.isArray(body) || !Object.prototype.hasOwnProperty.call(body, 'sig')) return body;
  const { sig: _sig, ...rest } = body as Record<string, unknown>;
  return rest;
}
