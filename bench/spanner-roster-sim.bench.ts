// npm run sim:roster [-- --bolts 1000 --seed S --loss 0.05 --partitions 3]
// Runs the deterministic roster-replication simulator (src/spanner/sim.ts) and prints the
// seed (replay a run with --seed), rounds to converge after the last heal, and bytes per
// bolt per round. Exits 1 when the goal is missed: every live bolt on the same roster
// within 3 gossip rounds after the last heal, no revocation ever undone, and no revocation
// signed by a revoked bolt ever counted.
import { parseArgs } from 'node:util';
import { randomInt } from 'node:crypto';
import { runRosterSim } from '../src/spanner/sim.js';
import { SIM_CA_PEM } from '../src/spanner/sim-ca.js';

const { values } = parseArgs({
  options: {
    bolts: { type: 'string', default: '1000' },
    seed: { type: 'string' },
    loss: { type: 'string', default: '0.05' },
    partitions: { type: 'string', default: '3' },
    fanout: { type: 'string', default: '3' },
    quiet: { type: 'boolean', default: false },
  },
});
const seed = values.seed ?? String(randomInt(2 ** 31));
const t0 = process.hrtime.bigint();
const r = await runRosterSim({
  bolts: Number(values.bolts),
  seed,
  caPem: SIM_CA_PEM,
  lossRate: Number(values.loss),
  partitions: Number(values.partitions),
  fanout: Number(values.fanout),
  log: values.quiet ? undefined : (l) => console.log(l),
});
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(`seed ${r.seed} (replay: npm run sim:roster -- --bolts ${r.bolts} --seed ${r.seed})`);
console.log(`bolts ${r.bolts} at start, ${r.boltsAtEnd} at end (${r.joins} joined, ${r.revocations} revoked), ${r.liveAtEnd} live`);
console.log(`messages ${r.messages}, lost ${r.lost} (loss rate and partitions)`);
console.log(`last heal at round ${r.lastHealRound}; rounds to converge after it: ${r.roundsToConverge === null ? 'did not converge' : r.roundsToConverge.toFixed(2)}`);
console.log(`bytes per bolt per round: steady ${r.bytes.steady}, during partitions ${r.bytes.chaos}, after the heal until converged ${r.bytes.afterHeal}`);
console.log(`revocations undone by a merge: ${r.revocationsUndone}; rows signed after their signer's revocation, refused: ${r.refusedAfterRevocation}; revoked keys admitted again, refused: ${r.refusedReadmissions} of ${r.readmissions}`);
console.log(`revocations a revoked bolt signed of others (revenge), refused: ${r.refusedRevenge} of ${r.revengeRevocations}; counted by some bolt after a merge: ${r.revengeCounted}`);
console.log(`roster digest ${r.digest}; simulated in ${(ms / 1000).toFixed(1)} s`);
const ok = r.converged && r.roundsToConverge !== null && r.roundsToConverge <= 3 && r.revocationsUndone === 0 && r.revengeCounted === 0;
console.log(ok ? 'goal met: one roster within 3 rounds of the last heal, no revocation undone, no revenge counted' : 'GOAL MISSED');
process.exit(ok ? 0 : 1);
