import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, seededRng, cryptoRng, systemClock } from '../../src/platform/clock.js';

test('a seeded rng replays the same sequence from the same seed, and differs across seeds', () => {
  const a = seededRng(42), b = seededRng(42), c = seededRng(43);
  const seqA = Array.from({ length: 20 }, () => a.int(1_000_000));
  const seqB = Array.from({ length: 20 }, () => b.int(1_000_000));
  const seqC = Array.from({ length: 20 }, () => c.int(1_000_000));
  assert.deepEqual(seqA, seqB);
  assert.notDeepEqual(seqA, seqC);
  assert.deepEqual(seededRng('sim-1').bytes(9), seededRng('sim-1').bytes(9));
});

test('seeded floats stay in [0,1) and ints cover their range roughly evenly', () => {
  const r = seededRng(7);
  const counts = new Array(10).fill(0) as number[];
  for (let i = 0; i < 10_000; i++) {
    const f = r.float();
    assert.ok(f >= 0 && f < 1, `float ${f} out of range`);
    counts[r.int(10)]!++;
  }
  for (const n of counts) assert.ok(n > 800 && n < 1200, `bucket count ${n} is far from 1000`);
  assert.throws(() => r.int(0), /positive safe integer/);
  assert.ok(cryptoRng.int(5) < 5 && cryptoRng.bytes(16).length === 16);
});

test('a manual clock moves only when told to, and never backwards', () => {
  const c = new ManualClock(1000);
  assert.equal(c.now(), 1000);
  c.advance(250);
  assert.equal(c.now(), 1250);
  assert.throws(() => c.advance(-1), /backwards/);
  assert.ok(Math.abs(systemClock.now() - Date.now()) < 1000);
});
