// The roster-replication simulator, small (issue 13: "a test runs 50 bolts on every npm
// test"): the same RosterGossip the bolts run, 50 bolts, 5% loss, partitions and heals,
// joins, revocations (by the founder), a revoked bolt signing after its revocation (admits,
// and revocations of the others: revenge), and unaware bolts admitting revoked keys again. What an operator needs to hold: after the last heal every
// live bolt has one roster within 3 gossip rounds, and no merge ever undoes a revocation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRosterSim, type SimResult } from '../../src/spanner/sim.js';
import { SIM_CA_PEM } from '../../src/spanner/sim-ca.js';

const run = (seed: number): Promise<SimResult> => runRosterSim({ bolts: 50, seed, caPem: SIM_CA_PEM });

function show(r: SimResult): string {
  return (
    `seed ${r.seed}: ${r.boltsAtEnd} bolts (${r.joins} joined, ${r.revocations} revoked, ${r.readmissions} re-admitted, ${r.revengeRevocations} revenge revocations), ` +
    `${r.messages} messages (${r.lost} lost), converged ${r.roundsToConverge ?? 'never'} rounds after the last heal (round ${r.lastHealRound}); ` +
    `bytes/bolt/round steady ${r.bytes.steady}, partitioned ${r.bytes.chaos}, after heal ${r.bytes.afterHeal}`
  );
}

for (const seed of [1, 2, 3]) {
  test(`50 bolts, seed ${seed}: one roster within 3 rounds of the last heal, and no revocation undone`, async () => {
    const r = await run(seed);
    console.log(show(r));
    assert.equal(r.converged, true, 'every live bolt holds the same roster');
    assert.ok(r.roundsToConverge !== null && r.roundsToConverge <= 3, `converged ${r.roundsToConverge} rounds after the last heal`);
    assert.equal(r.revocationsUndone, 0, 'no merge on any bolt unrevoked a key it had seen revoked');
    assert.ok(r.revocations >= 2 && r.joins >= 2, 'the run revoked and admitted bolts');
    assert.ok(r.refusedAfterRevocation >= 1, 'a revoked bolt signed after its revocation, and its row is refused');
    assert.ok(r.revengeRevocations >= 2 * r.revocations - 1, 'each revoked bolt signed revocations of the founder and of a live bolt');
    assert.equal(r.refusedRevenge, r.revengeRevocations, 'the roster of every row ever signed refuses every revenge revocation');
    assert.equal(r.revengeCounted, 0, 'no bolt ever counted a revocation signed by a revoked bolt');
    assert.ok(r.readmissions >= 1 && r.refusedReadmissions >= r.readmissions, 'every admission of a revoked key is refused (a bolt revoked in the second it was admitted adds one)');
    assert.equal(r.liveAtEnd, r.boltsAtEnd - r.revocations, 'the live bolts are all but the revoked ones');
  });
}

test('a run replays exactly from its seed', async () => {
  const [a, b] = [await run(4), await run(4)];
  assert.deepEqual(a, b);
  assert.notEqual((await run(5)).messages, a.messages, 'another seed is another run');
});
