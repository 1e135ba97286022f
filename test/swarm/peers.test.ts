// ProjectPeers and the announce codec as the agent uses them: datagrams in, a peer table
// out, expiring announces merged with project.json::cross_subnet_members.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng } from '../../src/platform/clock.js';
import {
  ANNOUNCE_REFUSAL_CODES,
  MAX_ANNOUNCE_DATAGRAM,
  MAX_PEERS_PER_PROJECT,
  ProjectPeers,
  encodeAnnounceDatagrams,
  parseAnnounceDatagram,
  parseHostPort,
  type Announce,
} from '../../src/swarm/index.js';
import { ENVOY_A, ENVOY_B, sha } from './fixtures.js';

const PID = sha('peers/project');

test('an envoy announcing many projects fits them in datagrams under the limit, and they parse back', () => {
  const many: Announce[] = Array.from({ length: 40 }, (_, i) => ({ kind: 'project', host: 'build-01.lan', projectId: sha(`p${i}`), handle: `repo-${i}`, scope: 'swarm-wide' }));
  many.push({ kind: 'envoy', host: 'build-01.lan', envoyId: ENVOY_A, port: 1531 });
  const grams = encodeAnnounceDatagrams(many);
  assert.ok(grams.length > 1);
  for (const g of grams) assert.ok(g.length <= MAX_ANNOUNCE_DATAGRAM, `${g.length} bytes`);
  const back = grams.flatMap((g) => parseAnnounceDatagram(g).announces);
  assert.deepEqual(back, many);
});

test('garbage in a datagram is refused line by line with codes, the good lines still count', () => {
  const text = `GITBACKPROJECT:a.lan:${PID}:web:swarm-wide\nGITBACKPROJECT:a.lan:nothex\n\u0000\u0001\nVIGOENVOY:a.lan:${ENVOY_A}:99999\n`;
  const r = parseAnnounceDatagram(new Uint8Array(Buffer.from(text, 'latin1')));
  assert.equal(r.announces.length, 1);
  assert.deepEqual(r.refused.map((x) => x.code), ['E_ANNOUNCE_PROJECT_ID', 'E_ANNOUNCE_NOT_ASCII', 'E_ANNOUNCE_PORT']);
});

test('announced peers expire after the TTL; cross-subnet members do not, and the two are deduplicated', () => {
  const t = new ProjectPeers({ selfHost: 'me.lan', ttlMs: 90_000 });
  t.observe({ kind: 'project', host: 'B.lan', projectId: PID, handle: 'web', scope: 'swarm-wide' }, 0);
  t.observe({ kind: 'envoy', host: 'b.lan', envoyId: ENVOY_B, port: 1531 }, 0);
  assert.deepEqual(t.setCrossSubnetMembers(PID, ['b.lan', 'far.example.org:2531', 'bad_host', 'x:0', 'me.lan']).map((b) => b.entry), ['bad_host', 'x:0']);
  const now = t.peersOf(PID, 1000);
  assert.deepEqual(now.map((p) => [p.key, p.sources, p.envoyId]), [
    ['b.lan:1531', ['announce', 'cross-subnet'], ENVOY_B],
    ['far.example.org:2531', ['cross-subnet'], null],
  ]);
  assert.deepEqual(t.peersOf(PID, 90_000).map((p) => p.key), ['b.lan:1531', 'far.example.org:2531'], 'b stays as a cross-subnet entry');
  assert.equal(t.expire(90_000), 2);
  assert.deepEqual(t.peersOf(PID, 90_000)[0]!.sources, ['cross-subnet']);
  assert.equal(t.nextExpiry(), null);
});

test('a presence line moves an announced peer to the port it names; own announces are ignored', () => {
  const t = new ProjectPeers({ selfHost: 'me.lan' });
  assert.deepEqual(t.observe({ kind: 'project', host: 'ME.lan', projectId: PID, handle: null, scope: null }, 0), { accepted: false, reason: 'self' });
  t.observe({ kind: 'project', host: 'c.lan', projectId: PID, handle: 'web', scope: 'members-only' }, 0);
  t.observe({ kind: 'project', host: 'c.lan', projectId: PID, handle: null, scope: null }, 10); // an old 2-field line keeps the scope
  t.observe({ kind: 'envoy', host: 'c.lan', envoyId: ENVOY_A, port: 15310 }, 10);
  assert.deepEqual(t.peersOf(PID, 20).map((p) => [p.key, p.scope]), [['c.lan:15310', 'members-only']]);
  assert.deepEqual(t.envoys(20).map((p) => p.key), ['c.lan:15310']);
  assert.deepEqual(t.announcedProjects(20), [{ projectId: PID, hosts: ['c.lan'] }]);
});

test('a flood of spoofed hosts fills the table to its bound and is counted, not stored', () => {
  const t = new ProjectPeers({ selfHost: 'me.lan' });
  for (let i = 0; i < MAX_PEERS_PER_PROJECT + 50; i++) t.observe({ kind: 'project', host: `h${i}.lan`, projectId: PID, handle: null, scope: null }, 0);
  assert.equal(t.peersOf(PID, 1).length, MAX_PEERS_PER_PROJECT);
  assert.equal(t.dropped, 50);
});

test('cross_subnet_members entries: host, host:port, and what is refused', () => {
  assert.deepEqual(parseHostPort('db-2.example.org'), { host: 'db-2.example.org', port: 1531 });
  assert.deepEqual(parseHostPort('10.1.2.3:2000'), { host: '10.1.2.3', port: 2000 });
  assert.ok('reason' in parseHostPort('[::1]:1531'));
  assert.ok('reason' in parseHostPort('host:65536'));
});

test('random datagrams never throw, and every refusal carries a known code (seeded fuzz)', () => {
  const seed = 1531;
  const rng = seededRng(seed);
  const alphabet = `GITBACKPROJECTVIGOENVOY:0123456789abcdef-.\n${ENVOY_A}${PID}`;
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const n = rng.int(1600);
    const bytes = i % 2 === 0 ? rng.bytes(n) : new Uint8Array(Buffer.from(Array.from({ length: n }, () => alphabet[rng.int(alphabet.length)]).join(''), 'latin1'));
    const r = parseAnnounceDatagram(bytes);
    for (const x of r.refused) assert.ok((ANNOUNCE_REFUSAL_CODES as readonly string[]).includes(x.code), x.code);
    refused += r.refused.length;
  }
  console.log(`announce fuzz: seed=${seed} 3000 datagrams, ${refused} lines refused`);
});

test('announcedEntries groups live announces by (project, handle): a host lying about the handle gets its own entry', () => {
  const t = new ProjectPeers({ selfHost: 'me.lan', ttlMs: 90_000 });
  t.observe({ kind: 'project', host: 'b.lan', projectId: PID, handle: 'web', scope: 'members-only' }, 0);
  t.observe({ kind: 'project', host: 'a.lan', projectId: PID, handle: 'web', scope: 'members-only' }, 0);
  t.observe({ kind: 'project', host: 'evil.lan', projectId: PID, handle: 'other', scope: 'swarm-wide' }, 0);
  // an old 2-field line from a host that gave its handle before keeps it
  t.observe({ kind: 'project', host: 'a.lan', projectId: PID, handle: null, scope: null }, 10);
  assert.deepEqual(t.announcedEntries(20), [
    { projectId: PID, handle: 'web', scope: 'members-only', hosts: ['a.lan', 'b.lan'] },
    { projectId: PID, handle: 'other', scope: 'swarm-wide', hosts: ['evil.lan'] },
  ]);
  assert.deepEqual(t.announcedEntries(100_000), []);
});

test('observe says when a peer is first heard (new, or back after expiring) and not on a refresh', () => {
  const t = new ProjectPeers({ selfHost: 'me.lan', ttlMs: 90_000 });
  const line = { kind: 'project', host: 'b.lan', projectId: PID, handle: 'web', scope: 'swarm-wide' } as const;
  const presence = { kind: 'envoy', host: 'b.lan', envoyId: ENVOY_B, port: 1531 } as const;
  assert.deepEqual(t.observe(line, 0), { accepted: true, fresh: true });
  assert.deepEqual(t.observe(presence, 0), { accepted: true, fresh: true });
  assert.deepEqual(t.observe(line, 30_000), { accepted: true, fresh: false });
  assert.deepEqual(t.observe(presence, 30_000), { accepted: true, fresh: false });
  // silent past the TTL (a partition), then heard again: first heard once more
  assert.deepEqual(t.observe(line, 200_000), { accepted: true, fresh: true });
  assert.deepEqual(t.observe(presence, 200_000), { accepted: true, fresh: true });
});
