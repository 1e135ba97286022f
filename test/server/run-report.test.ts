// Bounding run reports (src/wire/run-report.ts): whatever a report holds, the bounded
// one fits its cap, is valid JSON, keeps failures first and its counts whole, and says
// exactly how much it left out — also when it is cut twice (on the envoy, then the server).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boundReport, describeTruncation, summarizeRun, MIN_REPORT_CAP_BYTES, SUMMARY_FAILING_MAX, type BoundableReport } from '../../src/wire/run-report.js';

function report(n: number, failEvery: number, message: (i: number) => string): BoundableReport & { policy_version: number } {
  const resources = Array.from({ length: n }, (_, i) => ({ id: `c:file:/etc/f-${i}`, type: 'file', status: i % failEvery === 0 ? 'failed' : i % 2 ? 'changed' : 'ok', message: message(i) }));
  const counts = { ok: 0, changed: 0, failed: 0 };
  for (const r of resources) counts[r.status as keyof typeof counts]++;
  return { policy_version: 7, status: counts.failed ? 'failed' : 'changed', counts, resources };
}

test('a report under its cap passes through byte for byte', () => {
  const r = report(10, 5, () => 'created');
  const json = JSON.stringify(r);
  assert.deepEqual(boundReport(r, 1 << 20, json), { json, truncated: { bytes: 0, resources_omitted: 0 } });
  assert.equal(describeTruncation({ bytes: 0, resources_omitted: 0 }), null);
});

test('a huge report fits its cap, failures first, counts whole, the cut exact', () => {
  // 20,000 resources, long messages with multi-byte characters and emoji (surrogate pairs)
  const r = report(20_000, 97, (i) => `é😀 ${'w'.repeat(i % 3000)}`);
  const json = JSON.stringify(r);
  for (const cap of [MIN_REPORT_CAP_BYTES, 65_536, 1 << 20]) {
    const b = boundReport(r, cap, json);
    const out = JSON.parse(b.json) as typeof r & { truncated: { bytes: number; resources_omitted: number } };
    const size = Buffer.byteLength(b.json);
    assert.ok(size <= cap, `${size} > ${cap}`);
    assert.deepEqual(out.counts, r.counts);
    assert.equal(out.resources.length + b.truncated.resources_omitted, r.resources.length);
    assert.equal(b.truncated.bytes, Buffer.byteLength(json) - size);
    assert.deepEqual(out.truncated, b.truncated);
    const firstNonFailed = out.resources.findIndex((x) => x.status !== 'failed');
    assert.ok(firstNonFailed === -1 || out.resources.slice(firstNonFailed).every((x) => x.status !== 'failed'), 'failures come first');
    assert.ok(!/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/.test(b.json), 'no lone surrogate');
    console.log(`cap ${cap}: kept ${out.resources.length} of ${r.resources.length} resources, ${size} of ${Buffer.byteLength(json)} bytes`);
  }
});

test('a report cut on the envoy and again on the server adds both cuts up', () => {
  const r = report(5000, 10, (i) => `message ${i} ${'z'.repeat(200)}`);
  const original = Buffer.byteLength(JSON.stringify(r));
  const onEnvoy = boundReport(r, 200_000);
  const received = JSON.parse(onEnvoy.json) as BoundableReport;
  const onServer = boundReport(received, 20_000, onEnvoy.json);
  assert.equal(onServer.truncated.bytes, original - Buffer.byteLength(onServer.json));
  assert.equal(onServer.truncated.resources_omitted, 5000 - (JSON.parse(onServer.json) as BoundableReport).resources.length);
  assert.match(describeTruncation(onServer.truncated) ?? '', /^truncated: \d+ bytes \/ \d+ resources omitted$/);
});

test('the summary counts every resource and lists failures up to its bound', () => {
  const r = report(1000, 10, () => 'no such directory'.repeat(100));
  const whole = summarizeRun(r);
  assert.equal(whole.resources, 1000);
  assert.deepEqual(whole.counts, r.counts);
  assert.equal(whole.failing.length, SUMMARY_FAILING_MAX);
  assert.equal(whole.failing_omitted, r.counts.failed - SUMMARY_FAILING_MAX);
  assert.ok(whole.failing.every((f) => f.message.length < 600));
  // a report already cut on the envoy: the resources it left out still count
  const cut = summarizeRun({ ...r, resources: r.resources.slice(0, 300), truncated: { bytes: 1, resources_omitted: 700 } });
  assert.equal(cut.resources, 1000);
  assert.equal(cut.failing.length, 30);
  assert.equal(cut.failing_omitted, r.counts.failed - 30);
});
