// Issue 16 item 12: after a server restart the whole fleet reconnected in one burst. The
// check-in schedule spreads it: jittered intervals after a success, bounded exponential
// backoff with full jitter after a failure (seeded here, so the figures are reproducible).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckinSchedule, seededRandom } from '../../src/agent/checkin/schedule.js';

test('2,000 envoys that lost the server at once retry spread over the backoff window, never past the interval', () => {
  const random = seededRandom(42);
  const fleet = Array.from({ length: 2000 }, () => new CheckinSchedule({ intervalMs: 60_000, random }));
  // each envoy's first retry, then after 5 consecutive failures
  const first = fleet.map((s) => s.afterFailure());
  for (let i = 0; i < 4; i++) fleet.forEach((s) => s.afterFailure());
  const sixth = fleet.map((s) => s.afterFailure());
  const spread = (xs: number[]) => Math.max(...xs) - Math.min(...xs);
  // full jitter: uniform over [0, base·2^n]
  assert.ok(first.every((d) => d >= 0 && d <= 1000));
  assert.ok(sixth.every((d) => d >= 0 && d <= 32_000));
  assert.ok(spread(first) > 900, `first retries spread over ~1 s (${spread(first)} ms)`);
  assert.ok(spread(sixth) > 28_000, `sixth retries spread over ~32 s (${spread(sixth)} ms)`);
  // no 100 ms window holds more than a few percent of the fleet's sixth retries
  const buckets = new Map<number, number>();
  for (const d of sixth) buckets.set(Math.floor(d / 100), (buckets.get(Math.floor(d / 100)) ?? 0) + 1);
  const peak = Math.max(...buckets.values());
  assert.ok(peak < 40, `peak ${peak} of 2000 in one 100 ms window`);
  // the cap: never longer than the interval, however long the server stays away
  for (let i = 0; i < 40; i++) fleet[0]?.afterFailure();
  for (let i = 0; i < 100; i++) assert.ok((fleet[0]?.afterFailure() ?? Infinity) <= 60_000);
});

test('after a success the backoff resets and the interval is jittered ±25%', () => {
  const s = new CheckinSchedule({ intervalMs: 10_000, random: seededRandom(7) });
  for (let i = 0; i < 8; i++) s.afterFailure();
  assert.equal(s.failureCount, 8);
  const next = s.afterSuccess();
  assert.equal(s.failureCount, 0);
  assert.ok(next >= 7500 && next <= 12_500);
  assert.ok(s.afterFailure() <= 1000, 'the first retry after a success waits at most the base');
  const ds = Array.from({ length: 1000 }, () => s.afterSuccess());
  assert.ok(Math.min(...ds) >= 7500 && Math.max(...ds) <= 12_500);
  assert.ok(Math.max(...ds) - Math.min(...ds) > 4000, 'aligned envoys drift apart');
});

test('the same seed gives the same schedule (injectable randomness)', () => {
  const a = new CheckinSchedule({ intervalMs: 60_000, random: seededRandom(1) });
  const b = new CheckinSchedule({ intervalMs: 60_000, random: seededRandom(1) });
  assert.deepEqual([a.afterFailure(), a.afterFailure(), a.afterSuccess()], [b.afterFailure(), b.afterFailure(), b.afterSuccess()]);
});
