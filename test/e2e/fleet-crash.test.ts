// Crash safety: kill -9 of vigosrv in the middle of a publish and in the middle of a burst
// of check-ins and run reports. After a restart `.live/` is one whole version, no
// acknowledged publish is undone, and no acknowledged run is lost.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Fleet, enrollSimulated, sampleRunReport, waitFor } from '../server/harness.js';
import { CheckinStream } from '../../src/agent/index.js';

const fleet = new Fleet();
after(() => fleet.cleanup());

const CRATES = 120;

function writeGeneration(gen: number): void {
  rmSync(fleet.stacksDir, { recursive: true, force: true });
  mkdirSync(join(fleet.stacksDir, 'configcrates'), { recursive: true });
  const filler = '#'.repeat(1500);
  for (let i = 0; i < CRATES; i++) {
    writeFileSync(
      join(fleet.stacksDir, 'configcrates', `c${i}.vgo`),
      `# generation ${gen}\n# ${filler}\nname: c${i}\nresources:\n  - type: file\n    path: /etc/c${i}\n    content: "gen ${gen}\\n"\n`,
    );
  }
  writeFileSync(join(fleet.stacksDir, 'envoys.vgo'), `# generation ${gen}\nenvoys:\n  - match: "*"\n    configcrates: [c0]\n`);
}

/** Every file under .live/ and the generation they all carry (throws on a mix). */
function liveGeneration(): number {
  const live = join(fleet.dataDir, '.live');
  const files = [join(live, 'envoys.vgo'), ...readdirSync(join(live, 'configcrates')).map((f) => join(live, 'configcrates', f))];
  assert.equal(files.length, CRATES + 1, `.live/ holds ${files.length} files, not one whole version`);
  const gens = new Set(files.map((f) => /^# generation (\d+)/.exec(readFileSync(f, 'utf8'))?.[1]));
  assert.equal(gens.size, 1, `.live/ mixes generations ${[...gens].join(', ')}`);
  return Number([...gens][0]);
}

test('kill -9 during publish leaves .live/ one whole version', async () => {
  await fleet.startServer();
  writeGeneration(1);
  const t0 = Date.now();
  const first = await fleet.api<{ version: number }>('POST', '/api/v1/config/publish');
  const took = Date.now() - t0;
  if (process.env.VIGO_TEST_DEBUG) console.log(`publish took ${took} ms`);
  // kill early in the copy, mid-way, near the swap, and just after it
  const killAt = [0.1, 0.5, 0.9, 1.3].map((f) => Math.round(f * took));
  let acked = 1;
  let ackedVersion = first.version;
  for (let round = 0; round < 4; round++) {
    const gen = round + 2;
    writeGeneration(gen);
    const pending = fleet.api<{ version: number }>('POST', '/api/v1/config/publish').then(
      (r) => {
        acked = gen;
        ackedVersion = r.version;
      },
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, killAt[round]));
    await fleet.stopServer('SIGKILL');
    await pending;
    await fleet.startServer();
    const g = liveGeneration();
    if (process.env.VIGO_TEST_DEBUG) console.log(`round ${round}: published gen ${gen}, acked ${acked}, live ${g}`);
    assert.ok(g === gen || g === gen - 1 || g >= acked, `.live/ holds generation ${g}`);
    assert.ok(g >= acked, `an acknowledged publish (generation ${acked}) was undone: .live/ holds ${g}`);
    const v = (await fleet.api<{ version: number }>('GET', '/api/v1/config/version')).version;
    assert.ok(v >= ackedVersion, `config version went back from ${ackedVersion} to ${v}`);
    const leftovers = readdirSync(fleet.dataDir).filter((n) => n.startsWith('.live.tmp'));
    assert.deepEqual(leftovers, []);
    const kept = readdirSync(join(fleet.dataDir, '.live.d')).length;
    assert.ok(kept === 1 || kept === 2, `.live.d/ keeps the live version and at most the previous one (the boot fallback), not ${kept}`);
  }
});

test('kill -9 during a burst of check-ins loses no acknowledged run', async () => {
  const sims = [];
  for (let i = 0; i < 12; i++) sims.push(await enrollSimulated(fleet.admin, `burst-${i}`));
  const acked = new Set<string>();
  const ackedBy = new Set<number>();
  let stop = false;
  const streams = sims.map((s) => new CheckinStream(`127.0.0.1:${fleet.grpcPort}`, s.tls));
  const loops = streams.map(async (st, i) => {
    while (!stop) {
      try {
        await st.checkin(0, 'f', 2000);
        const id = randomUUID();
        await st.sendRun(id, sampleRunReport(1), 2000);
        acked.add(id);
        ackedBy.add(i);
      } catch {
        return;
      }
    }
  });
  // kill in the middle of the burst: once every envoy has had runs acknowledged
  await waitFor('a burst under way', () => acked.size >= 60 && ackedBy.size === sims.length, 30_000, 5);
  await fleet.stopServer('SIGKILL');
  stop = true;
  await Promise.all(loops);
  for (const st of streams) st.close();
  await fleet.startServer();
  const stored = await fleet.api<{ runs: { run_id: string }[] }>('GET', '/api/v1/runs?limit=10000');
  const have = new Set(stored.runs.map((r) => r.run_id));
  const lost = [...acked].filter((id) => !have.has(id));
  assert.deepEqual(lost, [], `${lost.length} of ${acked.size} acknowledged runs were lost`);
  // the index was rebuilt from the database: the simulated envoys are known and have runs
  const envoys = await fleet.api<{ envoys: { hostname: string; last_run_status: string | null }[] }>('GET', '/api/v1/envoys');
  assert.equal(envoys.envoys.filter((e) => e.hostname.startsWith('burst-') && e.last_run_status === 'ok').length, 12);
});
