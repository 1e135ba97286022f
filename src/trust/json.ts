/**
 * A strict JSON parser for untrusted input. Unlike JSON.parse it rejects duplicate keys
 * (two parsers must never disagree on what was signed), invalid UTF-8, lone surrogates,
 * numbers that overflow to Infinity, and input that is too large or too deeply nested.
 * With `canonicalLiterals` it also rejects any literal that RFC 8785 would write
 * differently (`1.0`, `1e3`, `-0`, `"\u0061"`, `"\/"`) with E_NON_CANONICAL.
 */
import { TrustError } from './errors.js';
import { canonicalize, hasLoneSurrogate } from './canonical.js';

export interface StrictJsonOptions {
  maxBytes?: number; // default 1 MiB
  maxDepth?: number; // default 32 (a value nested in N arrays/objects has depth N)
  what?: string; // names the file or field in error messages
  canonicalLiterals?: boolean; // numbers and string escapes must be in RFC 8785 form
}

export const DEFAULT_MAX_BYTES = 1 << 20;
export const DEFAULT_MAX_DEPTH = 32;
const HARD_MAX_DEPTH = 512; // keeps the recursive descent far from the stack limit

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

class Parser {
  i = 0;
  constructor(
    readonly s: string,
    readonly what: string,
    readonly maxDepth: number,
    readonly canonical: boolean,
  ) {}

  fail(msg: string, code: 'E_MALFORMED' | 'E_OVERSIZE' | 'E_NON_CANONICAL' = 'E_MALFORMED'): never {
    throw new TrustError(code, `${this.what}: ${msg} at offset ${this.i}`);
  }

  ws(): void {
    const s = this.s;
    for (;;) {
      const c = s.charCodeAt(this.i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.i++;
      else return;
    }
  }

  value(depth: number): unknown {
    this.ws();
    const c = this.s.charCodeAt(this.i);
    if (c === 0x7b) return this.object(depth + 1);
    if (c === 0x5b) return this.array(depth + 1);
    if (c === 0x22) return this.string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.s.startsWith('true', this.i)) return (this.i += 4), true;
    if (this.s.startsWith('false', this.i)) return (this.i += 5), false;
    if (this.s.startsWith('null', this.i)) return (this.i += 4), null;
    return this.fail(Number.isNaN(c) ? 'unexpected end of input' : `unexpected character ${JSON.stringify(this.s[this.i])}`);
  }

  enter(depth: number): void {
    if (depth > this.maxDepth) this.fail(`nested deeper than ${this.maxDepth} levels`, 'E_OVERSIZE');
  }

  object(depth: number): Record<string, unknown> {
    this.enter(depth);
    this.i++;
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    this.ws();
    if (this.s.charCodeAt(this.i) === 0x7d) return this.i++, out;
    for (;;) {
      this.ws();
      if (this.s.charCodeAt(this.i) !== 0x22) this.fail('expected a string key');
      const keyAt = this.i;
      const k = this.string();
      if (seen.has(k)) {
        this.i = keyAt;
        this.fail(`duplicate key ${JSON.stringify(k)}`);
      }
      seen.add(k);
      this.ws();
      if (this.s.charCodeAt(this.i) !== 0x3a) this.fail("expected ':'");
      this.i++;
      const v = this.value(depth);
      // A "__proto__" key is data, as with JSON.parse, never the object's prototype.
      if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else out[k] = v;
      this.ws();
      const c = this.s.charCodeAt(this.i);
      this.i++;
      if (c === 0x7d) return out;
      if (c !== 0x2c) {
        this.i--;
        this.fail("expected ',' or '}'");
      }
    }
  }

  array(depth: number): unknown[] {
    this.enter(depth);
    this.i++;
    const out: unknown[] = [];
    this.ws();
    if (this.s.charCodeAt(this.i) === 0x5d) return this.i++, out;
    for (;;) {
      out.push(this.value(depth));
      this.ws();
      const c = this.s.charCodeAt(this.i);
      this.i++;
      if (c === 0x5d) return out;
      if (c !== 0x2c) {
        this.i--;
        this.fail("expected ',' or ']'");
      }
    }
  }

  number(): number {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (m === null) return this.fail('malformed number');
    const text = m[0];
    const n = Number(text);
    if (!Number.isFinite(n)) this.fail(`number ${text} is out of range`);
    if (this.canonical && String(n) !== text) this.fail(`number ${text} is not in canonical form (${String(n)})`, 'E_NON_CANONICAL');
    this.i += text.length;
    return n;
  }

  string(): string {
    const s = this.s;
    const start = ++this.i;
    let out = '';
    let chunk = start;
    for (;;) {
      const c = s.charCodeAt(this.i);
      if (Number.isNaN(c)) this.fail('unterminated string');
      if (c === 0x22) {
        out += s.slice(chunk, this.i);
        this.i++;
        break;
      }
      if (c < 0x20) this.fail('control character in string');
      if (c === 0x5c) {
        out += s.slice(chunk, this.i);
        out += this.escape();
        chunk = this.i;
        continue;
      }
      this.i++;
    }
    if (hasLoneSurrogate(out)) this.fail('string holds a lone surrogate');
    return out;
  }

  escape(): string {
    const e = this.s[this.i + 1];
    const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
    if (e !== undefined && e in simple) {
      if (this.canonical && e === '/') this.fail('escape \\/ is not canonical (write /)', 'E_NON_CANONICAL');
      this.i += 2;
      return simple[e]!;
    }
    if (e !== 'u') return this.fail('invalid escape');
    const hex = this.s.slice(this.i + 2, this.i + 6);
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape');
    const ch = String.fromCharCode(parseInt(hex, 16));
    // RFC 8785 escapes only control characters without a short form, as lowercase \u00xx.
    const isSurrogate = ch >= '\uD800' && ch <= '\uDFFF';
    if (this.canonical && (isSurrogate || canonicalize(ch) !== `"\\u${hex}"`)) this.fail(`escape \\u${hex} is not canonical`, 'E_NON_CANONICAL');
    this.i += 6;
    return ch;
  }
}

export function parseStrictJson(text: string | Uint8Array, opts: StrictJsonOptions = {}): unknown {
  const what = opts.what ?? 'JSON input';
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxDepth = Math.min(opts.maxDepth ?? DEFAULT_MAX_DEPTH, HARD_MAX_DEPTH);
  let s: string;
  if (typeof text === 'string') {
    if (text.length > maxBytes || Buffer.byteLength(text, 'utf8') > maxBytes) {
      throw new TrustError('E_OVERSIZE', `${what}: larger than ${maxBytes} bytes`);
    }
    s = text;
  } else if (text instanceof Uint8Array) {
    if (text.byteLength > maxBytes) throw new TrustError('E_OVERSIZE', `${what}: larger than ${maxBytes} bytes`);
    try {
      s = utf8.decode(text);
    } catch {
      throw new TrustError('E_MALFORMED', `${what}: not valid UTF-8`);
    }
  } else {
    throw new TrustError('E_MALFORMED', `${what}: expected JSON text`);
  }
  const p = new Parser(s, what, maxDepth, opts.canonicalLiterals === true);
  const v = p.value(0);
  p.ws();
  if (p.i !== s.length) p.fail('trailing characters after the JSON value');
  return v;
}

/**
 * Parses text that must be the RFC 8785 canonical form of its own value, byte for byte:
 * how signed objects travel on the wire and on disk. Anything else — other key order,
 * whitespace, number forms or escapes — is E_NON_CANONICAL (duplicate keys: E_MALFORMED).
 */
export function parseCanonicalJson(text: string | Uint8Array, opts: StrictJsonOptions = {}): unknown {
  const v = parseStrictJson(text, { ...opts, canonicalLiterals: true });
  const s = typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('utf8');
  if (canonicalize(v) !== s) {
    throw new TrustError('E_NON_CANONICAL', `${opts.what ?? 'JSON input'}: not in RFC 8785 canonical form (key order or whitespace)`);
  }
  return v;
}
