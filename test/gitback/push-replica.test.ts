// The push path's small parts, one rule each: the push options git-remote-gitback reads
// out of git's request to receive-pack, the per-pusher sequence file (never reused, never
// back, a broken file refused), and the replica count a pusher is told.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../src/platform/clock.js';
import { PushOptionSniffer } from '../../src/gitback/push-report.js';
import { nextSeq } from '../../src/gitback/daemon/push-manifest.js';
import { ReplicaAcks } from '../../src/swarm/index.js';

const dir = mkdtempSync(join(tmpdir(), 'vgt-push-replica-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const pkt = (s: string) => (s.length + 4).toString(16).padStart(4, '0') + s;
const Z = '0'.repeat(40);
const A = 'a'.repeat(40);

test('push options: read after the command list when it asked for push-options, in any chunking; -o replicas=N parsed', () => {
  const stream = pkt(`${Z} ${A} refs/heads/main\0report-status side-band-64k push-options agent=git/2\n`) + '0000' + pkt('ci.skip\n') + pkt('replicas=2\n') + '0000' + 'PACK\0\0\0\x02…';
  for (const size of [1, 3, 7, stream.length]) {
    const s = new PushOptionSniffer();
    for (let i = 0; i < stream.length; i += size) s.feed(Buffer.from(stream.slice(i, i + size), 'latin1'));
    assert.deepEqual(s.options, ['ci.skip', 'replicas=2'], `chunks of ${size}`);
    assert.equal(s.replicas(), 2);
  }
  // without the capability, what follows the flush is the pack: no options
  const plain = new PushOptionSniffer();
  plain.feed(pkt(`${Z} ${A} refs/heads/main\0report-status\n`) + '0000' + pkt('replicas=9\n') + '0000');
  assert.deepEqual(plain.options, []);
  assert.equal(plain.replicas(), null);
  const bad = new PushOptionSniffer();
  bad.feed(pkt(`${Z} ${A} refs/heads/main\0push-options\n`) + '0000' + pkt('replicas=two\n') + '0000');
  assert.throws(() => bad.replicas(), /-o replicas=two: expected a number of peers from 1 to 1024/);
});

test('the sequence file: each seq is above the last, even when the clock goes back; a broken file is refused, not reset', () => {
  const seqDir = join(dir, 'push-seq');
  const clock = new ManualClock(1_000_000);
  const pusher = 'b'.repeat(64);
  const a = nextSeq(seqDir, pusher, clock);
  const b = nextSeq(seqDir, pusher, clock);
  assert.ok(b > a, `${b} > ${a}`);
  clock.set(5); // the clock went back (or the file was restored from an old backup? see below)
  const c = nextSeq(seqDir, pusher, clock);
  assert.equal(c, b + 1);
  const file = join(seqDir, pusher);
  assert.equal(readFileSync(file, 'utf8'), `${c}\n`, 'persisted before it is used');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  // the file lost (a disk swapped): the clock floor keeps the stream going up
  rmSync(file);
  clock.set(2_000_000);
  assert.equal(nextSeq(seqDir, pusher, clock), 2_000_000);
  writeFileSync(file, 'twelve\n');
  assert.throws(() => nextSeq(seqDir, pusher, clock), (e: Error & { code?: string; hint?: string }) => e.code === 'E_STATE' && e.message.includes(file) && /above every seq/.test(e.hint ?? ''));
  assert.equal(readFileSync(file, 'utf8'), 'twelve\n', 'a broken file is left for the operator');
});

test('replica count: a peer acknowledges by holding the tips, only the peers targeted at push time count, wait ends at n or the bound', async () => {
  const acks = new ReplicaAcks();
  const refs = [
    { ref: 'refs/heads/main', old: null, new: A },
    { ref: 'refs/heads/gone', old: A, new: null },
  ];
  acks.pushed('m'.repeat(64), 'p'.repeat(64), refs, ['b:1531', 'c:1531']);
  acks.heard('p'.repeat(64), 'b:1531', { 'refs/heads/main': A, 'refs/heads/gone': A });
  assert.deepEqual(acks.count('m'.repeat(64)), { acked: 0, of: 2 }, 'a deleted ref still held is no acknowledgement');
  acks.heard('p'.repeat(64), 'x:1531', { 'refs/heads/main': A });
  assert.deepEqual(acks.count('m'.repeat(64)), { acked: 0, of: 2 }, 'a peer not targeted does not count');
  const seen: number[] = [];
  const waiting = acks.wait('m'.repeat(64), 1, 10_000, (c) => seen.push(c.acked));
  acks.heard('p'.repeat(64), 'b:1531', { 'refs/heads/main': A });
  assert.deepEqual(await waiting, { acked: 1, of: 2 });
  assert.deepEqual(seen, [1]);
  const t0 = Date.now();
  assert.deepEqual(await acks.wait('m'.repeat(64), 2, 300), { acked: 1, of: 2 }, 'short of n: the count at the bound');
  assert.ok(Date.now() - t0 >= 250);
});
