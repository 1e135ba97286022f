// Issue 16 item 9: stored run reports are bounded. An envoy converges 300 files, five of
// which cannot be written (their parent is a file); its report (tens of KiB) is more than
// the server keeps per run (database.run_report_max_bytes: 8192). The server stores at
// most 8 KiB of it — the failures first — with a summary that still counts every resource
// and lists every failure, and the operator is told what was cut, on the REST API and in
// `vigocli runs list` / `runs show`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { Fleet, waitFor, type RunJson } from '../server/harness.js';

const fleet = new Fleet();
after(() => fleet.cleanup());

interface Run extends RunJson {
  ok: number;
  failed: number;
  truncated: string | null;
  report_bytes: number | null;
  truncated_bytes: number;
  resources_omitted: number;
}
interface RunDetail extends Run {
  summary: { counts: { ok: number; changed: number; failed: number }; resources: number; failing: { id: string; message: string }[]; failing_omitted: number };
  report: { counts: { ok: number; changed: number; failed: number }; resources: { id: string; status: string }[]; truncated?: { bytes: number; resources_omitted: number } };
}

const FILES = 300;
const BROKEN = 5;

function crate(): string {
  const lines = ['name: fleetwide', 'resources:', '  - type: file', '    path: /etc/blocker', '    content: "a file, not a directory\\n"'];
  for (let i = 0; i < FILES; i++) lines.push('  - type: file', `    path: /etc/fleetwide/setting-${String(i).padStart(3, '0')}.conf`, `    content: "value ${i}\\n"`);
  for (let i = 0; i < BROKEN; i++) lines.push('  - type: file', `    path: /etc/blocker/broken-${i}.conf`, '    content: "x\\n"');
  return lines.join('\n') + '\n';
}

test('a huge run report is stored capped, its summary is right, and the operator sees the cut', async () => {
  await fleet.startServer('checkin:\n  interval: 1s\ndatabase:\n  flush_interval_ms: 200\n  run_report_max_bytes: 8192\n');
  fleet.writeStacks({ fleetwide: crate() }, 'envoys:\n  - match: "big-*"\n    configcrates: [fleetwide]\n');
  const pub = fleet.cli('vigocli.js', ['config', 'publish', '--json']);
  assert.equal(pub.status, 0, pub.stderr);
  await fleet.enroll('big-09');
  const agent = fleet.startAgent('big-09');
  const total = FILES + BROKEN + 1;

  const runs = await waitFor('two runs from big-09', async () => {
    const r = (await fleet.api<{ runs: Run[] }>('GET', '/api/v1/runs?envoy=big-09&limit=10')).runs;
    return r.length >= 2 && r;
  }, 60_000, 200);
  await fleet.stopProc(agent);
  for (const r of runs) {
    assert.equal(r.status, 'failed');
    assert.equal(r.failed, BROKEN);
    assert.ok((r.report_bytes ?? 0) > 8192, `the envoy sent ${r.report_bytes} bytes`);
    assert.match(r.truncated ?? '', /^truncated: \d+ bytes \/ \d+ resources omitted$/);
    assert.equal(r.truncated, `truncated: ${r.truncated_bytes} bytes / ${r.resources_omitted} resources omitted`);
  }

  // What is stored: at most the cap, failures first, and the cut adds up.
  const db = new Database(join(fleet.dataDir, 'db', 'vigo.db'), { readonly: true });
  const stored = db.prepare('SELECT run_id, length(CAST(report AS BLOB)) AS n FROM runs').all() as { run_id: string; n: number }[];
  db.close();
  console.log('stored report sizes:', stored.map((s) => s.n), 'sent:', runs.map((r) => r.report_bytes));
  assert.ok(stored.length >= 2 && stored.every((s) => s.n <= 8192), `stored sizes ${stored.map((s) => s.n).join(', ')}`);
  const id = runs[0]?.run_id ?? '';
  const { run } = await fleet.api<{ run: RunDetail }>('GET', `/api/v1/runs/${id}`);
  const kept = run.report.resources;
  assert.equal(run.resources_omitted, total - kept.length);
  assert.deepEqual(run.report.truncated, { bytes: run.truncated_bytes, resources_omitted: run.resources_omitted });
  assert.equal(run.truncated_bytes, (run.report_bytes ?? 0) - Buffer.byteLength(JSON.stringify(run.report)));
  assert.deepEqual(kept.slice(0, BROKEN).map((r) => r.status), Array(BROKEN).fill('failed'), 'failures are kept first');
  assert.deepEqual(run.report.counts, { ok: run.ok, changed: run.changed, failed: BROKEN }, 'counts describe the whole run');

  // The summary counts every resource and lists every failure, whatever was cut.
  assert.equal(run.summary.resources, total);
  assert.equal(run.summary.counts.ok + run.summary.counts.changed + run.summary.counts.failed, total);
  assert.deepEqual(run.summary.failing.map((f) => f.id).sort(), Array.from({ length: BROKEN }, (_, i) => `fleetwide:file:/etc/blocker/broken-${i}.conf`));
  assert.equal(run.summary.failing_omitted, 0);

  // The operator sees it in the CLI.
  const list = fleet.cli('vigocli.js', ['runs', 'list', '--envoy', 'big-09']);
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${id}.*truncated: ${run.truncated_bytes} bytes / ${run.resources_omitted} resources omitted`));
  const show = fleet.cli('vigocli.js', ['runs', 'show', id]);
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, new RegExp(`^Resources: +${total}: ${run.ok} ok, ${run.changed} changed, ${BROKEN} failed$`, 'm'));
  assert.match(show.stdout, new RegExp(`^Report: +truncated: ${run.truncated_bytes} bytes / ${run.resources_omitted} resources omitted \\(${kept.length} resources stored, ${run.report_bytes} bytes sent\\)$`, 'm'));
  for (let i = 0; i < BROKEN; i++) assert.match(show.stdout, new RegExp(`fleetwide:file:/etc/blocker/broken-${i}\\.conf +file +\\S`));
});
