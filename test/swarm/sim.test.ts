// Fifty envoys in one process, each running the real replication machine, over a simulated
// network with a seeded Rng: latency, loss, partitions and heals. What an operator would
// check after an outage: every envoy ends with the same refs, nothing ever went backwards,
// and replayed bundles were refused. Each test prints its seed; rerun one with
// SIM_SEED=<n> node scripts/run-tests.mjs swarm/sim.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sim, type SimOptions } from './sim.js';
import { NOW, projectFixture } from './fixtures.js';

const SEED = process.env.SIM_SEED === undefined ? 20261201 : Number(process.env.SIM_SEED);
const START = NOW * 1000;
const MIN = 60_000;

async function options(seed: number, o: Partial<SimOptions> = {}): Promise<SimOptions> {
  const f = await projectFixture();
  return {
    seed,
    envoys: 50,
    projectId: f.pid,
    scope: 'swarm-wide',
    chains: { bob: f.bobChain, alice: f.aliceChain },
    latencyMs: [2, 80],
    loss: 0.05,
    announceMs: 30_000,
    tickMs: 45_000,
    transportTimeoutMs: 5_000,
    member: (i) => i % 3 !== 2,
    ...o,
  };
}

const host = (i: number): string => `e${String(i).padStart(2, '0')}.lan`;

function report(name: string, sim: Sim, convergedAfterMs: number | null): void {
  const s = sim.stats;
  console.log(
    `sim ${name}: seed=${sim.opts.seed} envoys=${sim.opts.envoys} loss=${sim.opts.loss} converged_after_heal=${convergedAfterMs === null ? 'NO' : `${(convergedAfterMs / 1000).toFixed(0)}s`} ` +
      `refs=${Object.keys(sim.tips()[0] ?? {}).length} events=${s.events} messages=${s.messages} lost=${s.lost} sends=${s.sends} fetches=${s.fetches} replays_refused=${s.refusedReplays} attacks=${s.attacks} (refused=${s.attackRefused} noop=${s.attackNoop} forward=${s.attackForward}) backward_moves=${s.backwardMoves}`,
  );
}

test('fifty envoys under loss, latency and three rounds of random partitions all hold the same refs after the last heal', async () => {
  const sim = new Sim(await options(SEED), START);
  // Each branch has one owner envoy (a push to a branch someone else moved meanwhile is git's non-fast-forward).
  const owners = [0, 7, 13, 21, 34, 48].map(host);
  await sim.push(owners[0]!, 'bob', 'main');
  await sim.runUntil(START + 3 * MIN);
  for (let round = 0; round < 3; round++) {
    const groups: string[][] = [[], [], []];
    for (let i = 0; i < sim.opts.envoys; i++) groups[sim.rng.int(3)]!.push(host(i));
    sim.partition(groups);
    for (let k = 0; k < 8; k++) {
      const b = sim.rng.int(owners.length);
      await sim.push(owners[b]!, k % 2 === 0 ? 'bob' : 'alice', b === 0 ? 'main' : `topic-${b}`);
      await sim.runUntil(sim.now + 10_000 + sim.rng.int(20_000));
    }
    await sim.runUntil(sim.now + 2 * MIN);
    sim.heal();
    if (round < 2) await sim.runUntil(sim.now + sim.rng.int(2 * MIN));
  }
  assert.ok(!sim.converged(), 'the last partition left the envoys apart');
  const after = await sim.convergeWithin(30 * MIN);
  report('random-partitions', sim, after);
  assert.notEqual(after, null, `not converged 30 simulated minutes after the last heal (seed ${SEED})`);
  assert.equal(Object.keys(sim.tips()[0]!).length, owners.length, 'every branch pushed is on every envoy');
  assert.equal(sim.stats.backwardMoves, 0);
});

test('partition {A} | {the rest}: pushes on both sides to different branches converge after the heal', async () => {
  const sim = new Sim(await options(SEED + 1), START);
  const a = host(0);
  await sim.push(a, 'bob', 'main');
  await sim.runUntil(START + 3 * MIN);
  assert.ok(sim.converged(), 'the first push reached everyone before the partition');
  sim.partition([[a], Array.from({ length: sim.opts.envoys - 1 }, (_, i) => host(i + 1))]);
  await sim.push(a, 'bob', 'main');
  await sim.push(a, 'bob', 'main');
  await sim.push(host(17), 'alice', 'feature');
  await sim.runUntil(sim.now + 30_000);
  await sim.push(host(17), 'alice', 'feature');
  await sim.runUntil(sim.now + 5 * MIN);
  const [tipsA, tipsB] = [sim.tips()[0]!, sim.tips()[17]!];
  assert.equal(tipsA['refs/heads/feature'], undefined, 'A did not see the other side during the partition');
  assert.notEqual(tipsA['refs/heads/main'], tipsB['refs/heads/main']);
  sim.heal();
  const after = await sim.convergeWithin(20 * MIN);
  report('A|rest', sim, after);
  assert.notEqual(after, null, `not converged 20 simulated minutes after the heal (seed ${SEED + 1})`);
  const final = sim.tips()[33]!;
  assert.equal(final['refs/heads/main'], tipsA['refs/heads/main'], "A's main won on the other side");
  assert.equal(final['refs/heads/feature'], tipsB['refs/heads/feature'], "the other side's feature reached A");
  assert.equal(sim.stats.backwardMoves, 0);
});

test('an attacker replaying every bundle it has seen never moves a ref backwards, and the swarm still converges', async () => {
  const sim = new Sim(await options(SEED + 2, { envoys: 30, loss: 0.1 }), START);
  const owners = [0, 5, 11].map(host);
  await sim.push(owners[0]!, 'bob', 'b0');
  await sim.runUntil(START + 2 * MIN);
  // Half the envoys are cut off while each branch moves several times: they will catch up
  // on the heads only, so the attacker holds older manifests they never applied.
  sim.partition([owners, Array.from({ length: 15 }, (_, i) => host(15 + i))]);
  for (let k = 0; k < 12; k++) {
    await sim.push(owners[k % 3]!, k % 2 === 0 ? 'bob' : 'alice', `b${k % 3}`);
    for (let r = 0; r < 5; r++) sim.replay(host(sim.rng.int(sim.opts.envoys)), sim.rng.int(1 << 30));
    await sim.runUntil(sim.now + 1000);
  }
  await sim.runUntil(sim.now + 2 * MIN);
  sim.heal();
  const after = await sim.convergeWithin(20 * MIN);
  // Now every update anyone ever saw, to every envoy, as a push and as a relay.
  const seen = sim.seen.length;
  for (let i = 0; i < sim.opts.envoys; i++) for (let u = 0; u < seen; u += 3) sim.replay(host(i), u);
  report('replay', sim, after);
  assert.notEqual(after, null);
  assert.ok(sim.converged(), 'the replays changed nothing once converged');
  assert.equal(sim.stats.backwardMoves, 0, 'no ref ever moved to a tip behind the one it held');
  assert.ok(sim.stats.attackRefused > 0, 'replays were refused');
  assert.equal(sim.stats.attackRefused + sim.stats.attackNoop + sim.stats.attackForward, sim.stats.attacks);
});

test('an envoy killed while a push fans out converges after its restart, with no new push, through anti-entropy', async () => {
  const sim = new Sim(await options(SEED + 4, { envoys: 20 }), START);
  const [a, d] = [host(0), host(3)];
  await sim.push(a, 'bob', 'main');
  await sim.runUntil(START + 3 * MIN);
  assert.ok(sim.converged());
  sim.kill(d);
  await sim.push(a, 'bob', 'main');
  await sim.push(host(9), 'alice', 'docs');
  await sim.runUntil(sim.now + 20_000);
  // The pushers' agents restart too, forgetting the sends to d they would have retried.
  sim.restart(a);
  sim.restart(host(9));
  await sim.runUntil(sim.now + 5 * MIN);
  assert.notDeepEqual(sim.tips()[3], sim.tips()[0], 'd missed both pushes');
  sim.restart(d);
  const after = await sim.convergeWithin(10 * MIN);
  report('restart', sim, after);
  assert.notEqual(after, null, 'd never caught up');
  const ticks = after! / sim.opts.tickMs;
  console.log(`sim restart: d converged ${(after! / 1000).toFixed(0)} s after its restart = ${ticks.toFixed(2)} catch-up ticks of ${sim.opts.tickMs / 1000} s`);
  // Its first round runs at start with an empty peer table; announces fill it within 30 s; the next round pulls.
  assert.ok(ticks <= 3, `${ticks.toFixed(2)} ticks`);
});

test('the same seed gives the same run', async () => {
  const run = async (): Promise<string> => {
    const sim = new Sim(await options(SEED + 3, { envoys: 12, loss: 0.2 }), START);
    await sim.push(host(0), 'bob', 'main');
    sim.partition([[host(0), host(1)]]);
    await sim.push(host(5), 'alice', 'x');
    await sim.runUntil(START + 2 * MIN);
    sim.heal();
    await sim.runUntil(START + 10 * MIN);
    return JSON.stringify([sim.stats, sim.tips()]);
  };
  assert.equal(await run(), await run());
});
