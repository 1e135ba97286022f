// Envelope gossip across two hundred simulated envoys (gossip-sim.ts): the real machine and
// trust core, a seeded network with latency, loss and a partition. An operator's story: a
// revoke swept on one envoy reaches every envoy it can reach; the forty cut off get it
// within the reconciliation periods that follow the heal; forged envelopes injected by a
// hostile envoy are in no store; and once all agree, a round of reconciliation is digests only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NOW } from './fixtures.js';
import { gossipFixture } from './gossip-fixtures.js';
import { GossipSim } from './gossip-sim.js';

const SEED = 1207;
const PERIOD = 300_000;

test('two hundred envoys: a revoke spreads, the partitioned catch up after the heal, forgeries go nowhere, equal stores cost digests only', async () => {
  const f = await gossipFixture();
  const sim = new GossipSim(
    { seed: SEED, envoys: 200, projectId: f.pid, peersPerEnvoy: 6, latencyMs: [2, 40], loss: 0.02, transportTimeoutMs: 10_000, gossip: { reconcileMs: PERIOD } },
    (NOW + 60) * 1000,
  );
  const cut = sim.nodes.slice(160).map((n) => n.host);
  sim.partition([sim.nodes.slice(0, 160).map((n) => n.host), cut]);
  sim.runUntil(sim.now + 5_000);
  sim.sweep('e000.lan', 'revoke', f.revokeBob);
  const forged = sim.inject('e001.lan', 'revoke', [f.forgedByMember, f.otherProject, f.badSignature]);
  assert.deepEqual(forged.answer.refused.map((r) => r.code), ['E_NOT_ADMIN', 'E_WRONG_PROJECT', 'E_BAD_SIGNATURE']);
  sim.runUntil(sim.now + 60_000);
  const reached = sim.holders(f.revokeBob);
  console.log(`seed ${SEED}: 60 s after the sweep ${reached} of 160 reachable envoys hold the revoke; cut off: ${cut.filter((h) => sim.node(h).store.ids(f.pid).length > 0).length}`);
  assert.ok(reached >= 150, `${reached} of 160`);
  assert.ok(cut.every((h) => sim.node(h).store.ids(f.pid).length === 0), 'nothing crossed the partition');
  sim.runUntil(sim.now + 10 * 60_000); // longer than the pushes' retries: what crosses after the heal is reconciliation's
  const pullsBefore = sim.stats.pulls;
  sim.heal();
  const took = sim.spreadWithin(f.revokeBob, 3 * PERIOD);
  console.log(`seed ${SEED}: after the heal every envoy holds it within ${took} ms (${took === null ? '-' : (took / PERIOD).toFixed(2)} periods); ${JSON.stringify(sim.stats)}`);
  assert.ok(took !== null && took <= 2.2 * PERIOD, `took ${took}`);
  assert.ok(sim.stats.pulls > pullsBefore, 'the cut-off envoys caught up by pulls');
  assert.ok(sim.nodes.every((n) => n.store.ids(f.pid).length === 1), 'forged envelopes are in no store');
  sim.runUntil(sim.now + 2 * PERIOD); // stragglers' answers and the round after
  assert.ok(sim.converged());
  const before = { ...sim.stats };
  sim.runUntil(sim.now + PERIOD);
  const digests = sim.stats.digests - before.digests;
  const perDigest = (sim.stats.bytes - before.bytes) / Math.max(1, digests);
  console.log(`seed ${SEED}: one period of equal stores: ${digests} digests, ${sim.stats.pulls - before.pulls} pulls, ${sim.stats.posts - before.posts} posts, ${perDigest.toFixed(0)} bytes per digest exchange`);
  assert.equal(sim.stats.pulls - before.pulls, 0, 'no pull between equal stores');
  assert.equal(sim.stats.posts - before.posts, 0, 'no post between equal stores');
  assert.ok(digests > 0);
});
