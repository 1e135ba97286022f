// Check-in latency as an envoy sees it: real mTLS check-in streams (simulated envoys enrolled
// over REST), each checking in back to back with a short pause, every latency recorded.
// Used to show what a publish or a REST flood does to the event loop that serves check-ins.
import type { ApiTarget } from '../../src/wire/rest-client.js';
import { CheckinStream } from '../../src/agent/index.js';
import { enrollSimulated } from './harness.js';

export interface LatencyStats {
  count: number;
  errors: number;
  p50: number;
  p99: number;
  max: number;
}

export function stats(lat: number[], errors = 0): LatencyStats {
  const s = [...lat].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return { count: s.length, errors, p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? NaN };
}

export const fmt = (s: LatencyStats) => `n=${s.count} p50=${s.p50.toFixed(1)}ms p99=${s.p99.toFixed(1)}ms max=${s.max.toFixed(1)}ms errors=${s.errors}`;

export class CheckinProbe {
  private streams: CheckinStream[] = [];
  private lat: number[] = [];
  private errors = 0;
  private running = false;
  private loops: Promise<void>[] = [];

  static async enroll(admin: ApiTarget, grpcPort: number, n: number, prefix: string): Promise<CheckinProbe> {
    const p = new CheckinProbe();
    for (let i = 0; i < n; i++) {
      const sim = await enrollSimulated(admin, `${prefix}-${i}`);
      p.streams.push(new CheckinStream(`127.0.0.1:${grpcPort}`, sim.tls));
    }
    await Promise.all(p.streams.map((s) => s.checkin(0, 'probe', 30_000)));
    return p;
  }

  /** Start checking in on every stream, `pauseMs` between answers; latencies from now on. */
  start(pauseMs = 20): void {
    this.lat = [];
    this.errors = 0;
    this.running = true;
    this.loops = this.streams.map(async (s) => {
      while (this.running) {
        const t = process.hrtime.bigint();
        try {
          await s.checkin(0, 'probe', 60_000);
          this.lat.push(Number(process.hrtime.bigint() - t) / 1e6);
        } catch {
          this.errors++;
        }
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    });
  }

  async stop(): Promise<LatencyStats> {
    this.running = false;
    await Promise.all(this.loops);
    return stats(this.lat, this.errors);
  }

  close(): void {
    this.running = false;
    for (const s of this.streams) s.close();
  }
}
