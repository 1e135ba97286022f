/**
 * When the envoy next checks in. A fleet that started together, or that lost its server at
 * the same moment, must not come back in one burst: after a success the next check-in is
 * the interval ±25% (so aligned envoys drift apart within a few ticks); after a failure it
 * is bounded exponential backoff with full jitter — uniform in [0, min(cap, base·2^n)],
 * with the cap at the check-in interval, so an envoy never waits longer than it would
 * have anyway. The randomness is injectable (seeded in tests and the bench).
 */

export type Random = () => number; // uniform in [0, 1)

/** A small deterministic PRNG (mulberry32) for tests and benchmarks. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface ScheduleOptions {
  intervalMs: number;
  /** first backoff ceiling (default 1 s) */
  baseMs?: number;
  /** ± fraction applied to the interval after a success (default 0.25) */
  spread?: number;
  random?: Random;
}

export class CheckinSchedule {
  private failures = 0;
  private readonly baseMs: number;
  private readonly spread: number;
  private readonly random: Random;

  constructor(private readonly o: ScheduleOptions) {
    this.baseMs = Math.min(o.baseMs ?? 1000, o.intervalMs);
    this.spread = o.spread ?? 0.25;
    this.random = o.random ?? Math.random;
  }

  /** consecutive failures so far */
  get failureCount(): number {
    return this.failures;
  }

  /** The delay after a successful check-in: the interval, jittered. */
  afterSuccess(): number {
    this.failures = 0;
    return Math.round(this.o.intervalMs * (1 - this.spread + 2 * this.spread * this.random()));
  }

  /** The delay after a failed check-in or a broken stream: full-jitter backoff, capped at the interval. */
  afterFailure(): number {
    const ceiling = Math.min(this.o.intervalMs, this.baseMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.round(ceiling * this.random());
  }
}
