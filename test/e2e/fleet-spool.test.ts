// Issue 16 item 7: a report the server refuses must not hold up the agent's spool. An
// envoy's spool holds two reports the server will refuse — one of the wrong shape, one
// over the server's 8 MiB receive limit (as an older agent, or a damaged disk, could leave
// them) — ahead of its new runs. The new runs arrive anyway; each refused report is kept in
// the dead-letter directory with the server's reason and reported as a failed run; and
// the agent cuts its own reports to checkin.report_max_bytes before spooling them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, waitFor, type RunJson } from '../server/harness.js';

const fleet = new Fleet();
after(() => fleet.cleanup());

interface Run extends RunJson {
  truncated: string | null;
  report_bytes: number | null;
  resources_omitted: number;
}

/** A configcrate of `n` small files: its run report is a few KiB. */
function manyFiles(n: number): string {
  const lines = ['name: many', 'resources:'];
  for (let i = 0; i < n; i++) lines.push('  - type: file', `    path: /etc/many/file-${String(i).padStart(3, '0')}.conf`, `    content: "setting ${i}\\n"`);
  return lines.join('\n') + '\n';
}

test('a refused report is dead-lettered and reported failed; the runs behind it arrive', async () => {
  await fleet.startServer('checkin:\n  interval: 1s\ndatabase:\n  flush_interval_ms: 200\n');
  fleet.writeStacks({ many: manyFiles(80) }, 'envoys:\n  - match: "dl-*"\n    configcrates: [many]\n');
  const pub = fleet.cli('vigocli.js', ['config', 'publish', '--json']);
  assert.equal(pub.status, 0, pub.stderr);
  await fleet.enroll('dl-07');

  // What an older agent could have left in the spool, oldest first.
  const stateDir = join(fleet.envoyRoot('dl-07'), 'var', 'lib', 'vigo', 'checkin');
  const spool = join(stateDir, 'spool');
  mkdirSync(spool, { recursive: true, mode: 0o700 });
  const t = Date.now() - 60_000;
  const malformedId = randomUUID();
  const hugeId = randomUUID();
  writeFileSync(join(spool, `${String(t).padStart(15, '0')}-${malformedId}.json`), JSON.stringify({ policy_version: -1, status: 'weird' }));
  const huge = JSON.stringify({
    policy_version: 1,
    started_at: new Date(t).toISOString(),
    duration_ms: 5,
    status: 'changed',
    counts: { ok: 0, changed: 1, failed: 0 },
    configcrates: 1,
    resources: [{ id: 'many:file:/etc/huge', type: 'file', status: 'changed', message: 'x'.repeat(9 * 1024 * 1024) }],
  });
  writeFileSync(join(spool, `${String(t + 1).padStart(15, '0')}-${hugeId}.json`), huge);

  const startedAt = new Date().toISOString();
  const agent = fleet.startAgent('dl-07', 'checkin:\n  interval_s: 1\n  timeout_s: 10\n  report_max_bytes: 4096\n');
  const runs = async () => (await fleet.api<{ runs: Run[] }>('GET', '/api/v1/runs?envoy=dl-07&limit=100')).runs;

  // The new runs arrive although two refused reports sit ahead of them in the spool.
  const fresh = await waitFor('two new runs from dl-07', async () => {
    const r = (await runs()).filter((x) => x.run_id !== malformedId && x.run_id !== hugeId && x.started_at >= startedAt);
    return r.length >= 2 && r;
  }, 60_000, 200);
  assert.ok(fresh.every((r) => r.policy_version === 1));

  // Each refused report is kept, with the server's reason, in the dead-letter directory.
  const deadDir = join(stateDir, 'dead-letter');
  await waitFor('two dead-letter files', () => existsSync(deadDir) && readdirSync(deadDir).filter((f) => f.endsWith('.json')).length === 2, 30_000);
  const letters = Object.fromEntries(
    readdirSync(deadDir).map((f) => {
      const d = JSON.parse(readFileSync(join(deadDir, f), 'utf8')) as { run_id: string; reason: string; bytes: number; report?: string; report_head?: string; report_truncated?: boolean };
      return [d.run_id, d];
    }),
  );
  console.log('dead-letter reasons:', Object.values(letters).map((d) => `${d.run_id}: ${d.reason} (${d.bytes} bytes)`));
  assert.match(letters[malformedId]?.reason ?? '', /malformed run report/);
  assert.match(letters[hugeId]?.reason ?? '', /larger than (max|8388608)/i);
  assert.equal(letters[hugeId]?.bytes, Buffer.byteLength(huge));
  assert.equal(letters[hugeId]?.report_truncated, true, 'a refused report over 1 MiB keeps only its head');
  assert.ok((letters[hugeId]?.report_head?.length ?? 0) <= 1024 * 1024);
  assert.match(agent.out(), new RegExp(`the server refused run ${hugeId} \\(${Buffer.byteLength(huge)} bytes\\)`));

  // ...and reported as a failed run under its own id, saying why and where it is kept.
  const replaced = await waitFor('both refused runs reported as failed', async () => {
    const r = (await runs()).filter((x) => x.run_id === malformedId || x.run_id === hugeId);
    return r.length === 2 && r;
  }, 30_000, 200);
  assert.deepEqual(replaced.map((r) => r.status), ['failed', 'failed']);
  const shown = fleet.cli('vigocli.js', ['runs', 'show', hugeId]);
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /vigo:report\s+report\s+the server refused this run's report \(\d+ bytes\): .*larger than (max|8388608)/i);
  assert.match(shown.stdout, new RegExp(`kept on the envoy in ${join(deadDir, '').replace(/[.]/g, '\\.')}`));

  // The agent cut its own reports (80 resources do not fit in 4 KiB) and says so.
  const own = (await runs()).filter((r) => r.run_id !== malformedId && r.run_id !== hugeId);
  for (const r of own) {
    assert.ok((r.report_bytes ?? Infinity) <= 4096, `run ${r.run_id} sent ${r.report_bytes} bytes`);
    assert.match(r.truncated ?? '', /^truncated: \d+ bytes \/ \d+ resources omitted$/);
    assert.ok(r.resources_omitted > 0);
  }
  assert.match(agent.out(), /run report cut to checkin\.report_max_bytes \(4096\)/);

  // Nothing is left behind in the spool for long: it drains.
  await waitFor('the spool drains', () => readdirSync(spool).filter((f) => f.endsWith('.json')).length <= 1, 30_000);
  await fleet.stopProc(agent);
});
