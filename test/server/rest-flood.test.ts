// Anyone who can reach the REST port floods /api/v1/enroll with 1 MiB bodies of nested `[`
// from eight source addresses while envoys check in. The event loop that answers check-ins
// must not notice: the body is refused by its size before it is read, and an address that
// keeps failing is cut off before the TLS handshake.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Fleet } from './harness.js';
import { CheckinProbe, fmt, type LatencyStats } from './checkin-probe.js';

const fleet = new Fleet();
after(() => fleet.cleanup());
const here = dirname(fileURLToPath(import.meta.url));

function flood(url: string, seconds: number): Promise<Record<string, number>> {
  // niced: the attacker's own CPU is not the server's in real life, only its packets are
  const child = spawn('nice', ['-n', '19', process.execPath, join(here, 'rest-flood.js'), url, '8', String(seconds), String(1 << 20), '127.0.1.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Record<string, number>) : reject(new Error(`flood exited ${code}: ${out}`)))));
}

async function phase(probe: CheckinProbe, ms: number, during?: Promise<unknown>): Promise<LatencyStats> {
  probe.start(10);
  await Promise.all([new Promise((r) => setTimeout(r, ms)), during]);
  return probe.stop();
}

test('a REST flood of nested brackets does not slow check-ins', { timeout: 600_000 }, async () => {
  await fleet.startServer('checkin:\n  interval: 60s\n');
  const probe = await CheckinProbe.enroll(fleet.admin, fleet.grpcPort, 8, 'flood');
  try {
    // Quiet and flooded phases alternate, so load from elsewhere on the machine hits both
    // alike; the figure compared is the median over rounds of each phase's p99. A real
    // stall (36× before the fix) shows in every round; a noisy round does not move a median,
    // and while the medians are 2× apart more rounds are taken (5 to 15).
    const quiet: LatencyStats[] = [];
    const flooded: LatencyStats[] = [];
    const answers: Record<string, number>[] = [];
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    const ratio = () => median(flooded.map((s) => s.p99)) / median(quiet.map((s) => s.p99));
    for (let round = 0; round < 15 && (round < 5 || ratio() >= 2); round++) {
      quiet.push(await phase(probe, 3000));
      flooded.push(await phase(probe, 3000, flood(fleet.restUrl, 3).then((c) => answers.push(c))));
      console.log(`round ${round}: quiet   ${fmt(quiet[round] as LatencyStats)}\nround ${round}: flooded ${fmt(flooded[round] as LatencyStats)} flood answers ${JSON.stringify(answers[round])}`);
    }
    const qP99 = median(quiet.map((s) => s.p99));
    const fP99 = median(flooded.map((s) => s.p99));
    console.log(`check-in p99 (median of ${quiet.length} rounds): quiet ${qP99.toFixed(1)} ms, under the flood ${fP99.toFixed(1)} ms (${(fP99 / qP99).toFixed(2)}×)`);
    assert.equal(flooded.reduce((n, s) => n + s.errors, 0), 0, 'no check-in failed');
    assert.ok(fP99 < 2 * qP99, `check-in p99 under the flood ${fP99.toFixed(1)} ms ≥ 2 × quiet ${qP99.toFixed(1)} ms`);
  } finally {
    probe.close();
  }
});
