// The line codec every line protocol uses (src/wire/lines.ts): what a peer sends, in whatever
// chunks the kernel delivers it, comes out as the same lines; too long a line is refused early.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineFramer } from '../../src/wire/lines.js';
import { isVigoError } from '../../src/platform/errors.js';

test('lines come out whole however the bytes are chunked, including a UTF-8 character split across chunks', () => {
  const text = 'capabilities\nconnect git-upload-pack\n{"name":"Zoë 🦊"}\n';
  const bytes = Buffer.from(text, 'utf8');
  const fox = bytes.indexOf(Buffer.from('🦊', 'utf8'));
  // every split point, and in particular inside the 4-byte fox and the 2-byte ë
  for (let cut = 0; cut <= bytes.length; cut++) {
    const f = new LineFramer(1024);
    f.push(bytes.subarray(0, cut));
    f.push(bytes.subarray(cut));
    assert.deepEqual(f.lines(), ['capabilities', 'connect git-upload-pack', '{"name":"Zoë 🦊"}'], `split at byte ${cut}`);
  }
  // one byte at a time, with the fox's bytes in separate chunks
  const f = new LineFramer(1024);
  const got: string[] = [];
  for (const b of bytes) {
    f.push(Uint8Array.of(b));
    got.push(...f.lines());
  }
  assert.deepEqual(got.at(-1), '{"name":"Zoë 🦊"}');
  assert.ok(fox > 0);
});

test('an empty line is a line (git ends its command list with one); a missing newline is not', () => {
  const f = new LineFramer(64);
  f.push('capabilities\n\nconnect');
  assert.equal(f.next(), 'capabilities');
  assert.equal(f.next(), '');
  assert.equal(f.next(), null, 'a line without its newline is not complete');
  assert.deepEqual(f.flush().toString(), 'connect');
});

test('a line longer than the limit is refused with an error naming the limit, before its newline arrives', () => {
  const f = new LineFramer(16, 'gitback daemon request line');
  f.push('x'.repeat(16)); // exactly the limit, no newline yet: still fine
  assert.equal(f.next(), null);
  f.push('y');
  assert.throws(
    () => f.next(),
    (e: unknown) => isVigoError(e) && e.code === 'E_OVERSIZE' && /gitback daemon request line longer than the limit of 16 bytes/.test(e.message),
  );
  const g = new LineFramer(16);
  g.push(`${'z'.repeat(17)}\n`);
  assert.throws(() => g.next(), /limit of 16 bytes/, 'a long line inside one chunk too');
  const ok = new LineFramer(16);
  ok.push(`${'z'.repeat(16)}\nnext\n`);
  assert.deepEqual(ok.lines(), ['z'.repeat(16), 'next'], 'a line of exactly the limit passes');
  // the limit counts bytes, not characters: 6 foxes are 24 bytes
  const fox = new LineFramer(16);
  fox.push('🦊'.repeat(6));
  assert.throws(() => fox.next(), /limit of 16 bytes/);
});

test('flush hands back, byte for byte, what follows the lines taken (the raw pipe after a request line)', () => {
  const f = new LineFramer(64);
  // pkt-line bytes with newlines in them, and more of them than the line limit
  const pack = Buffer.concat([Buffer.from([0x30, 0x30, 0x33, 0x0a, 0xff, 0x00, 0x0a, 0x80]), Buffer.alloc(200, 0x41)]);
  f.push(Buffer.concat([Buffer.from('{"op":"connect"}\n'), pack.subarray(0, 5)]));
  f.push(pack.subarray(5));
  assert.equal(f.next(), '{"op":"connect"}');
  assert.equal(f.pendingBytes, pack.length);
  assert.deepEqual(f.flush(), pack);
  assert.equal(f.pendingBytes, 0);
  assert.equal(f.next(), null);
});
