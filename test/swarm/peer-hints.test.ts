// The server's peer hints as a discovery layer (issue 14 item 5): target selection is the
// union of announces, cross_subnet_members and hints, deduplicated, in that order, bounded;
// a hint pins the envoy id the transport will demand; the hints file is read only when root
// wrote it, and a bad file keeps the hints last read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_HINTS_PER_PROJECT, ProjectPeers } from '../../src/swarm/peers.js';
import { hintEntries, PeerHintsReader } from '../../src/swarm/peer-hints.js';
import { makePeerHints } from '../../src/wire/swarm-fleet.js';
import { ENVOY_A, ENVOY_B, sha } from './fixtures.js';

const PID = sha('hints/project');
const ENVOY_C = 'c0c0c0c0-0000-4000-8000-00000000000c';
const SELF = 'f0f0f0f0-0000-4000-8000-00000000000f';

test('target selection: announces, then cross_subnet_members, then hints; one entry per host:port with every source', () => {
  const t = new ProjectPeers({ selfHost: '10.77.0.10', selfEnvoyId: SELF });
  t.observe({ kind: 'project', host: '10.77.0.12', projectId: PID, handle: 'web', scope: 'swarm-wide' }, 0);
  t.observe({ kind: 'project', host: '10.77.0.11', projectId: PID, handle: 'web', scope: 'swarm-wide' }, 0);
  t.observe({ kind: 'envoy', host: '10.77.0.11', envoyId: ENVOY_A, port: 1531 }, 0);
  t.setCrossSubnetMembers(PID, ['10.78.0.20', '10.77.0.11']);
  t.setPeerHints({
    [PID]: [
      { envoyId: ENVOY_C, host: '10.78.0.30' },
      { envoyId: ENVOY_B, host: '10.77.0.12' }, // the announcer no presence line was heard for
      { envoyId: ENVOY_C, host: '10.78.0.20' }, // the listed entry: it keeps learning its id from its certificate
      { envoyId: ENVOY_C, host: '10.77.0.11' }, // the heard id is not replaced by a hint
      { envoyId: SELF, host: '10.78.0.99' }, // this envoy, by id
      { envoyId: ENVOY_C, host: '10.77.0.10' }, // this envoy, by address
    ],
  });
  assert.deepEqual(t.peersOf(PID, 1).map((p) => [p.key, p.sources, p.envoyId]), [
    ['10.77.0.11:1531', ['announce', 'cross-subnet', 'hint'], ENVOY_A],
    ['10.77.0.12:1531', ['announce', 'hint'], ENVOY_B],
    ['10.78.0.20:1531', ['cross-subnet', 'hint'], null],
    ['10.78.0.30:1531', ['hint'], ENVOY_C],
  ]);
  // hints replace, they do not accumulate; other projects get none
  t.setPeerHints({});
  assert.deepEqual(t.peersOf(PID, 1).map((p) => p.sources), [['announce', 'cross-subnet'], ['announce'], ['cross-subnet']]);
  assert.deepEqual(t.peersOf(sha('other'), 1), []);
});

test('hints are bounded per project, and a hint-only peer is still a target after announces expire', () => {
  const t = new ProjectPeers({ selfHost: 'me', ttlMs: 10 });
  const many = Array.from({ length: MAX_HINTS_PER_PROJECT + 5 }, (_, i) => ({ envoyId: ENVOY_C, host: `10.78.1.${i + 1}` }));
  assert.equal(t.setPeerHints({ [PID]: many }), 5, 'the five past the bound are counted');
  assert.equal(t.peersOf(PID, 1).length, MAX_HINTS_PER_PROJECT);
  t.observe({ kind: 'project', host: '10.78.1.1', projectId: PID, handle: 'web', scope: 'swarm-wide' }, 0);
  t.expire(100);
  assert.equal(t.peersOf(PID, 100).length, MAX_HINTS_PER_PROJECT, 'hints do not expire with announces');
  assert.deepEqual(t.peersOf(PID, 100)[0]!.sources, ['hint']);
});

test('the contract hints become entries at the default peer port, IPv4-mapped addresses as plain IPv4', () => {
  const h = makePeerHints({ [PID]: [{ envoy_id: ENVOY_B, hostname: 'env-b', addr: '10.78.0.12' }, { envoy_id: ENVOY_C, hostname: 'env-c', addr: '::ffff:10.78.0.13' }, { envoy_id: ENVOY_A, hostname: 'env-a', addr: 'fd00::1' }] });
  // an IPv4-mapped address (a dual-stack listener's view of an IPv4 peer) is spelled as announces spell it, so the two dedupe
  assert.deepEqual(hintEntries(h), { [PID]: [{ envoyId: ENVOY_B, host: '10.78.0.12' }, { envoyId: ENVOY_C, host: '10.78.0.13' }, { envoyId: ENVOY_A, host: 'fd00::1' }] });
});

test('the hints file: read when root wrote it; a file others could write is refused and the last hints kept', { skip: process.getuid?.() === 0 ? false : 'needs root to chown' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgt-hints-'));
  try {
    const file = join(dir, 'peer-hints.json');
    const logs: string[] = [];
    const t = new ProjectPeers({ selfHost: 'me' });
    const r = new PeerHintsReader(file, t, (m) => logs.push(m));
    assert.equal(r.load(), false, 'no file, no hints, no change');
    writeFileSync(file, JSON.stringify(makePeerHints({ [PID]: [{ envoy_id: ENVOY_B, hostname: 'env-b', addr: '10.78.0.12' }] })), { mode: 0o644 });
    assert.equal(r.load(), true);
    assert.equal(r.load(), false, 'the same sha is no change');
    assert.deepEqual(t.peersOf(PID, 1).map((p) => p.key), ['10.78.0.12:1531']);
    // someone else's file suggests another peer: refused, logged once, the last hints kept
    writeFileSync(file, JSON.stringify(makePeerHints({ [PID]: [{ envoy_id: ENVOY_C, hostname: 'evil', addr: '10.78.0.66' }] })));
    chownSync(file, 1, 1);
    assert.equal(r.load(), false);
    assert.equal(r.load(), false);
    assert.equal(logs.filter((l) => l.includes('owned by uid 1, not root')).length, 1, logs.join('\n'));
    assert.deepEqual(t.peersOf(PID, 1).map((p) => p.key), ['10.78.0.12:1531']);
    chownSync(file, 0, 0);
    chmodSync(file, 0o666);
    assert.equal(r.load(), false);
    assert.ok(logs.some((l) => l.includes('group- or world-writable')));
    // malformed: refused naming the file
    chmodSync(file, 0o644);
    writeFileSync(file, '{"v":1,"sha256":"00","projects":{}}');
    assert.equal(r.load(), false);
    assert.ok(logs.some((l) => l.startsWith(`swarm: ${file}.sha256`)), logs.join('\n'));
    rmSync(file);
    assert.equal(r.load(), true, 'the file gone: the hints go');
    assert.deepEqual(t.peersOf(PID, 1), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
