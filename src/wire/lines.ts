/**
 * Newline framing, the one codec every line protocol of the tree uses (the gitback daemon's
 * request and answer lines, git's remote-helper commands, the puddle session's JSON lines).
 * Pure: bytes in, complete lines out; no sockets, no timers. Lines split on byte 0x0A, which
 * never occurs inside a multi-byte UTF-8 sequence, so a character split across chunks is
 * decoded whole. Lines are split off only as they are taken (`next()`), so the bytes after
 * the last line taken stay raw: `flush()` hands them back exactly as they arrived (the pack
 * stream that follows a request line, or a last line without '\n'). A line (without its
 * '\n') longer than `maxLineBytes` is refused by `next()` with E_OVERSIZE naming the limit,
 * as soon as the bytes held prove it: a caller that asks for the next line after each chunk
 * holds at most the limit for a peer that never sends '\n'.
 */
import { VigoError } from '../platform/errors.js';

export class LineFramer {
  private chunks: Buffer[] = [];
  private held = 0;
  /** how many leading chunks, and bytes, are known to hold no '\n' */
  private scannedChunks = 0;
  private scannedBytes = 0;

  /** `what` names the stream in the oversize error, e.g. "gitback daemon request line". */
  constructor(
    readonly maxLineBytes: number,
    readonly what = 'line',
  ) {
    if (!Number.isSafeInteger(maxLineBytes) || maxLineBytes < 0) throw new RangeError(`maxLineBytes must be a non-negative integer, not ${maxLineBytes}`);
  }

  /** Takes a chunk as it arrived (a string is taken as UTF-8). */
  push(chunk: Uint8Array | string): void {
    const c = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (c.length === 0) return;
    this.chunks.push(c);
    this.held += c.length;
  }

  /**
   * The next complete line (UTF-8, without '\n'), or null until one has arrived.
   * Throws E_OVERSIZE once the line is known to be longer than the limit.
   */
  next(): string | null {
    for (let i = this.scannedChunks; i < this.chunks.length; i++) {
      const c = this.chunks[i] as Buffer;
      const nl = c.indexOf(10);
      if (nl < 0) {
        this.scannedChunks = i + 1;
        this.scannedBytes += c.length;
        continue;
      }
      this.check(this.scannedBytes + nl);
      const line = i === 0 ? c.subarray(0, nl) : Buffer.concat([...this.chunks.slice(0, i), c.subarray(0, nl)]);
      const after = c.subarray(nl + 1);
      this.chunks = after.length > 0 ? [after, ...this.chunks.slice(i + 1)] : this.chunks.slice(i + 1);
      this.held -= line.length + 1;
      this.scannedChunks = 0;
      this.scannedBytes = 0;
      return line.toString('utf8');
    }
    this.check(this.scannedBytes);
    return null;
  }

  /** Every complete line held. */
  lines(): string[] {
    const out: string[] = [];
    for (let l = this.next(); l !== null; l = this.next()) out.push(l);
    return out;
  }

  /** How many bytes are held (not taken as lines yet). */
  get pendingBytes(): number {
    return this.held;
  }

  /** Every byte not taken as a line, exactly as it arrived; the framer is empty after. */
  flush(): Buffer {
    const out = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.chunks = [];
    this.held = 0;
    this.scannedChunks = 0;
    this.scannedBytes = 0;
    return out;
  }

  private check(lineBytes: number): void {
    if (lineBytes > this.maxLineBytes) {
      throw new VigoError('E_OVERSIZE', `${this.what} longer than the limit of ${this.maxLineBytes} bytes`, {
        hint: 'the peer is not speaking this protocol, or sent more than it may in one line',
      });
    }
  }
}

export interface BadRequest {
  ok: false;
  code: string;
  message: string;
}

/**
 * A key helper's JSON request line (the user session helper, the service-account helper)
 * → its fields and their sorted names (`"msg,op"`), or the E_BAD_REQUEST answer to send.
 */
export function requestFields(line: string): { o: Record<string, unknown>; keys: string } | BadRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { ok: false, code: 'E_BAD_REQUEST', message: 'request is not JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, code: 'E_BAD_REQUEST', message: 'request must be an object' };
  const o = v as Record<string, unknown>;
  return { o, keys: Object.keys(o).sort().join(',') };
}
