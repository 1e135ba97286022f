// Keeps bench/trust.bench.ts from rotting: its functions run with tiny budgets and must
// produce every figure. (No timing is asserted; speed is the benchmark's business.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, runBench, SCENARIOS } from '../../bench/trust.bench.js';

test('the trust benchmark runs every scenario and prints a figure and a ratio for each', async () => {
  const rep = await runBench({ minMs: 1, copies: 2 });
  assert.ok(rep.rawPerSec > 0);
  assert.equal(rep.figures.length, SCENARIOS.length);
  assert.deepEqual(new Set(rep.figures.map((f) => f.depth)), new Set([1, 3, 5]));
  for (const f of rep.figures) {
    assert.ok(f.opsPerSec > 0 && Number.isFinite(f.costInRaw) && Number.isFinite(f.costInRawUnpaired), f.name);
    assert.equal(f.signatures, f.depth + f.delegations);
  }
  const lines = formatReport(rep);
  assert.equal(lines.length, 1 + SCENARIOS.length + 2);
  assert.match(lines[0]!, /^raw Ed25519 verify/);
  assert.match(lines.at(-1)!, /^goal: cached repeat >= 20x faster than uncached: (met|NOT met)$/);
});
