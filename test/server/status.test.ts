// Envoy statuses and compliance, by the rules of SYSTEM.md §6.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compliance, envoyStatus, nextStreak, type StatusInput } from '../../src/server/status.js';

const NOW = 1_000_000;
const I = 10_000;
const e = (o: Partial<StatusInput>): StatusInput => ({ revoked: false, lastSeenMs: NOW, lastRunStatus: 'ok', changeStreak: 0, ...o });

test('each status by its rule', () => {
  assert.equal(envoyStatus(e({ lastSeenMs: null, lastRunStatus: null }), NOW, I), 'no-data');
  assert.equal(envoyStatus(e({}), NOW, I), 'converged');
  assert.equal(envoyStatus(e({ lastRunStatus: 'changed', changeStreak: 1 }), NOW, I), 'converged');
  assert.equal(envoyStatus(e({ lastRunStatus: 'changed', changeStreak: 2 }), NOW, I), 'relapsed');
  assert.equal(envoyStatus(e({ lastRunStatus: 'changed', changeStreak: 3 }), NOW, I), 'diverged');
  assert.equal(envoyStatus(e({ lastRunStatus: 'changed', changeStreak: 9 }), NOW, I), 'diverged');
  assert.equal(envoyStatus(e({ lastRunStatus: 'failed' }), NOW, I), 'failed');
  assert.equal(envoyStatus(e({ lastSeenMs: NOW - 2 * I }), NOW, I), 'converged');
  assert.equal(envoyStatus(e({ lastSeenMs: NOW - 2 * I - 1 }), NOW, I), 'offline');
});

test('the streak counts consecutive runs with changes', () => {
  let s = 0;
  for (const st of ['changed', 'changed', 'changed']) s = nextStreak(s, st);
  assert.equal(s, 3);
  assert.equal(nextStreak(s, 'ok'), 0);
  assert.equal(nextStreak(2, 'failed'), 0);
});

test('compliance = converged ÷ active; revoked envoys are not active', () => {
  const c = compliance([e({}), e({}), e({ lastRunStatus: 'failed' }), e({ revoked: true }), e({ lastSeenMs: 0 })], NOW, I);
  assert.equal(c.active, 4);
  assert.equal(c.revoked, 1);
  assert.equal(c.counts.converged, 2);
  assert.equal(c.counts.offline, 1);
  assert.equal(c.compliance_pct, 50);
  assert.equal(compliance([], NOW, I).compliance_pct, 0);
});
