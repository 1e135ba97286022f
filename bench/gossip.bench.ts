// Envelope gossip, measured in the simulator (test/swarm/gossip-sim.ts: the real machine and
// trust core for every envoy, a seeded network). Per seed: 16 envoys on one LAN (a full
// mesh of peers), each holding the same history of revokes; BENCH_CUT of them are cut off
// while a new revoke is swept on e000 and gossiped; the partition lasts 15 minutes plus a
// seeded part of a period, longer than the pushes' retries, so what reaches the cut-off envoys after the heal comes by
// reconciliation. Printed: the time from the heal until all 16 hold the revoke, in
// reconciliation periods, and the bytes spent meanwhile; against what one reconciliation
// of two equal stores costs (one digest exchange), what a naive "GET all every period"
// would cost, and what a whole period of the 16-envoy mesh costs when nothing differs.
// BENCH_SEEDS, BENCH_PEERS, BENCH_CUT, BENCH_HISTORY, BENCH_LOSS change the defaults
// (1,2,3,4,5 / 16 / 4 / 50 / 0.01).
import { envelopeId, mintRevoke } from '../src/trust/index.js';
import { computeDigest, gossipPath } from '../src/swarm/index.js';
import { NOW, sha, signer } from '../test/swarm/fixtures.js';
import { gossipFixture } from '../test/swarm/gossip-fixtures.js';
import { GossipSim, REQUEST_OVERHEAD_BYTES } from '../test/swarm/gossip-sim.js';

const SEEDS = (process.env.BENCH_SEEDS ?? '1,2,3,4,5').split(',').map(Number);
const PEERS = Number(process.env.BENCH_PEERS ?? 16);
const CUT = Number(process.env.BENCH_CUT ?? 4);
const HISTORY = Number(process.env.BENCH_HISTORY ?? 50);
const LOSS = Number(process.env.BENCH_LOSS ?? 0.01);
const PERIOD = 300_000;

const f = await gossipFixture();
const history = await Promise.all(Array.from({ length: HISTORY }, (_, i) => mintRevoke(signer('alice'), [f.root, f.alice], [], sha(`bench/token/${i}`), 'history', NOW - 3600)));

console.log(`envelope gossip: ${PEERS} envoys (full mesh), ${CUT} cut off for 15 min + a seeded part of a period, ${HISTORY} revokes held before, loss ${LOSS}, period ${PERIOD / 1000} s`);
const rows: Array<{ seed: number; periods: number; bytes: number; round: number }> = [];
for (const seed of SEEDS) {
  const sim = new GossipSim({ seed, envoys: PEERS, projectId: f.pid, peersPerEnvoy: PEERS - 1, latencyMs: [1, 20], loss: LOSS, transportTimeoutMs: 10_000, gossip: { reconcileMs: PERIOD } }, (NOW + 60) * 1000);
  for (const n of sim.nodes) for (const e of history) n.store.put('revoke', e);
  sim.runUntil(sim.now + 2_000);
  const cut = sim.nodes.slice(PEERS - CUT).map((n) => n.host);
  sim.partition([sim.nodes.slice(0, PEERS - CUT).map((n) => n.host), cut]);
  sim.sweep('e000.lan', 'revoke', f.revokeBob);
  // heal at a moment drawn within a period: reconciliations bunch up (all peers of an envoy
  // start together), so a heal at a fixed time would always land in or out of a bunch
  const wait = 15 * 60_000 + sim.rng.int(PERIOD);
  sim.runUntil(sim.now + wait);
  const bytes0 = sim.stats.bytes;
  sim.heal();
  const took = sim.spreadWithin(f.revokeBob, 4 * PERIOD, 500);
  if (took === null) throw new Error(`seed ${seed}: not every envoy holds the revoke 4 periods after the heal`);
  const spent = sim.stats.bytes - bytes0;
  sim.runUntil(sim.now + 2 * PERIOD);
  const b = sim.stats.bytes;
  sim.runUntil(sim.now + PERIOD);
  rows.push({ seed, periods: took / PERIOD, bytes: spent, round: sim.stats.bytes - b });
  console.log(`  seed ${seed}: cut for ${(wait / 1000).toFixed(0)} s; heal → all ${PEERS} hold it in ${(took / 1000).toFixed(1)} s = ${(took / PERIOD).toFixed(2)} periods, ${spent} bytes meanwhile; then a period of equal stores: ${sim.stats.bytes - b} bytes`);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const store = [...history, f.revokeBob];
const entries = store.map((e) => ({ kind: 'revoke' as const, id: envelopeId(e) }));
const digestBytes = 2 * REQUEST_OVERHEAD_BYTES + gossipPath(f.pid, 'digest').length + JSON.stringify(computeDigest(f.pid, entries)).length;
const bucketsBytes = 2 * REQUEST_OVERHEAD_BYTES + gossipPath(f.pid, 'digest').length + 10 + JSON.stringify(computeDigest(f.pid, entries, true)).length;
const allBytes = 2 * REQUEST_OVERHEAD_BYTES + gossipPath(f.pid, 'all').length + JSON.stringify({ v: 1, project_id: f.pid, revokes: store, leaves: [] }).length;
const oneBucket = 2 * REQUEST_OVERHEAD_BYTES + gossipPath(f.pid, 'all').length + 12 + Math.round(JSON.stringify({ v: 1, project_id: f.pid, revokes: store, leaves: [] }).length / 16);
console.log(`median over seeds ${SEEDS.join(',')}: ${median(rows.map((r) => r.periods)).toFixed(2)} periods (max ${Math.max(...rows.map((r) => r.periods)).toFixed(2)}), ${median(rows.map((r) => r.bytes))} bytes from heal to convergence`);
console.log(`two equal stores (${store.length} envelopes): one digest exchange = ${digestBytes} bytes; a naive GET all = ${allBytes} bytes (${(allBytes / digestBytes).toFixed(0)}×)`);
console.log(`one envelope missing from ${store.length}: digest + bucket list + one bucket ≈ ${digestBytes + bucketsBytes + oneBucket} bytes, against ${digestBytes + allBytes} with GET all`);
console.log(`a whole period of the ${PEERS}-envoy mesh with nothing to do: median ${median(rows.map((r) => r.round))} bytes (${PEERS * (PEERS - 1)} digest exchanges)`);
