// Small pieces behind issue 10's fixes, checked on their own: the wording of times, the
// count of envelopes in a sentinel, the friendly-URL choice after a founder rekey, the
// timeout setting, and the strict parse of project.json::issued.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanizeTimes, whenHuman } from '../../src/gitback/when.js';
import { queuedEnvelopes } from '../../src/gitback/status.js';
import { computeProjectId, parseGitbackUrl, resolveProjectId, type NameSources } from '../../src/gitback/url.js';
import { daemonTimeoutMs } from '../../src/gitback/remote-helper.js';
import { checkProjectConfig } from '../../src/gitback/state.js';

test('times read as ISO plus a relative part; raw epochs in trust messages are reworded', () => {
  const now = 1_764_000_000;
  assert.equal(whenHuman(now + 3 * 86_400, now), '2025-11-27T16:00:00Z (in 3 days)');
  assert.equal(whenHuman(now - 7200, now), '2025-11-24T14:00:00Z (2 hours ago)');
  assert.equal(humanizeTimes(`chain[1] expired at ${now - 86_400} (now ${now})`, now), 'chain[1] expired at 2025-11-23T16:00:00Z (1 day ago)');
  assert.equal(humanizeTimes(`the issuing token expires at ${now + 60}; a child cannot outlive it`, now), 'the issuing token expires at 2025-11-24T16:01:00Z (in 1 minute); a child cannot outlive it');
  // a token id (hex) is left alone
  const tid = '1764000000abcdef'.repeat(4);
  assert.equal(humanizeTimes(`token ${tid} is revoked`, now), `token ${tid} is revoked`);
});

test('a pending sentinel counts the envelopes it holds', () => {
  assert.equal(queuedEnvelopes(null), 0);
  assert.equal(queuedEnvelopes('[{"kind":"revoke"},{"kind":"revoke"}]'), 2);
  assert.equal(queuedEnvelopes('{"kind":"leave"}'), 1);
  assert.equal(queuedEnvelopes('garbage'), 1);
});

test('a friendly URL follows the project whose current founder is the name’s key', async () => {
  const oldKey = 'aa'.repeat(32);
  const newKey = 'bb'.repeat(32);
  const genesisPid = computeProjectId(Buffer.from(oldKey, 'hex'), 'web');
  const direct = computeProjectId(Buffer.from(newKey, 'hex'), 'web');
  const u = parseGitbackUrl('gitback://alice/web');
  const src = (local: { projectId: string; live: boolean }[]): NameSources => ({
    fleetMap: () => Promise.resolve({ names: { alice: { status: 'ok', pubkey: newKey } }, writtenAt: '2026-12-02T07:00:00Z' }),
    ownClaim: () => Promise.resolve(null),
    foundedBy: (pk, h) => (pk === newKey && h === 'web' ? local : []),
  });
  // after the rekey the held project (genesis id, delegated to the new key) is meant
  assert.equal(await resolveProjectId(u, src([{ projectId: genesisPid, live: true }])), genesisPid);
  // after a re-found the live project under the new key's own id wins over the archive
  assert.equal(await resolveProjectId(u, src([{ projectId: genesisPid, live: false }, { projectId: direct, live: true }])), direct);
  // nothing held, or two candidates: the direct id, as before
  assert.equal(await resolveProjectId(u, src([])), direct);
  const other = computeProjectId(Buffer.from('cc'.repeat(32), 'hex'), 'web');
  assert.equal(await resolveProjectId(u, src([{ projectId: genesisPid, live: true }, { projectId: other, live: true }])), direct);
});

test('VIGO_GITBACK_TIMEOUT: seconds, default 5, nonsense refused', () => {
  assert.equal(daemonTimeoutMs({}), 5000);
  assert.equal(daemonTimeoutMs({ VIGO_GITBACK_TIMEOUT: '1.5' }), 1500);
  assert.throws(() => daemonTimeoutMs({ VIGO_GITBACK_TIMEOUT: 'soon' }), /positive number of seconds, not 'soon'/);
  assert.throws(() => daemonTimeoutMs({ VIGO_GITBACK_TIMEOUT: '0' }), /positive number/);
});

test('project.json::issued is parsed strictly, naming the field', () => {
  const base = {
    version: 1, project_id: 'ab'.repeat(32), handle: 'web', founder: 'cd'.repeat(32), scope: 'swarm-wide', members: [], role: 'admin',
    created_at: 1, cross_subnet_members: [], tombstoned_at: null, successor: null,
  };
  const t = { subject: 'ef'.repeat(32), role: 'member', issued_at: 5, expires_at: null, revoked_at: null };
  assert.deepEqual(checkProjectConfig({ ...base, issued: { ['12'.repeat(32)]: t } }, 'p.json').issued, { ['12'.repeat(32)]: t });
  assert.throws(() => checkProjectConfig({ ...base, issued: { ['12'.repeat(32)]: { ...t, extra: 1 } } }, 'p.json'), /p\.json: field issued\.1212121212121212: unknown field 'extra'/);
  assert.throws(() => checkProjectConfig({ ...base, issued: { ['12'.repeat(32)]: { ...t, role: 'owner' } } }, 'p.json'), /role must be 'admin' or 'member'/);
  assert.throws(() => checkProjectConfig({ ...base, issued: { nothex: t } }, 'p.json'), /64-hex token id/);
});
