/**
 * Time and randomness as values passed in, so that protocol code (gossip, fan-out, the
 * roster merge, the reactor plan) runs the same under the real runtime and under a
 * deterministic simulator driving hundreds of nodes in one process.
 *
 * One unit everywhere: milliseconds since the Unix epoch. Code below the CLI and daemon
 * entry points takes a Clock and an Rng instead of calling Date.now(), Math.random() or
 * crypto.randomBytes() itself.
 */
import { randomBytes, randomInt } from 'node:crypto';

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that moves only when told to: for tests and the simulator. */
export class ManualClock implements Clock {
  constructor(private ms: number = 0) {}
  now(): number {
    return this.ms;
  }
  set(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`ManualClock.set: ${ms} is not a finite number of milliseconds`);
    this.ms = ms;
  }
  advance(ms: number): number {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ${ms} must be ≥ 0 (time does not run backwards)`);
    this.ms += ms;
    return this.ms;
  }
}

export interface Rng {
  /** A float in [0, 1). */
  float(): number;
  /** An integer in [0, maxExclusive). maxExclusive is a positive safe integer. */
  int(maxExclusive: number): number;
  /** n random bytes. Seeded generators are NOT for keys or tokens: use cryptoRng there. */
  bytes(n: number): Uint8Array;
}

function checkMax(maxExclusive: number): void {
  if (!Number.isSafeInteger(maxExclusive) || maxExclusive <= 0) {
    throw new RangeError(`Rng.int: bound ${maxExclusive} must be a positive safe integer`);
  }
}

/** The operating system's CSPRNG: the only Rng fit for secrets. */
export const cryptoRng: Rng = {
  float: () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48,
  int: (maxExclusive: number) => {
    checkMax(maxExclusive);
    return maxExclusive <= 2 ** 48 - 1 ? randomInt(maxExclusive) : Math.floor((randomBytes(6).readUIntBE(0, 6) / 2 ** 48) * maxExclusive);
  },
  bytes: (n: number) => new Uint8Array(randomBytes(n)),
};

/**
 * A seeded, reproducible generator (xoshiro128**, seeded through splitmix32) so a
 * simulator run can be replayed from the seed it printed. Not cryptographic.
 */
export function seededRng(seed: number | string): Rng {
  let h = typeof seed === 'number' ? seed >>> 0 : hashSeed(seed);
  const splitmix = (): number => {
    h = (h + 0x9e3779b9) >>> 0;
    let z = h;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  const s = [splitmix(), splitmix(), splitmix(), splitmix()];
  if ((s[0]! | s[1]! | s[2]! | s[3]!) === 0) s[0] = 1;
  const next32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s[1]!, 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1]! << 9) >>> 0;
    s[2] = (s[2]! ^ s[0]!) >>> 0;
    s[3] = (s[3]! ^ s[1]!) >>> 0;
    s[1] = (s[1]! ^ s[2]!) >>> 0;
    s[0] = (s[0]! ^ s[3]!) >>> 0;
    s[2] = (s[2]! ^ t) >>> 0;
    s[3] = rotl(s[3]!, 11);
    return result;
  };
  const float = (): number => (next32() * 2 ** 21 + (next32() >>> 11)) / 2 ** 53;
  return {
    float,
    int: (maxExclusive: number) => {
      checkMax(maxExclusive);
      return Math.floor(float() * maxExclusive);
    },
    bytes: (n: number) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i += 4) {
        const v = next32();
        for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
      }
      return out;
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function hashSeed(s: string): number {
  // FNV-1a, 32 bits: a string seed is as replayable as a number.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
