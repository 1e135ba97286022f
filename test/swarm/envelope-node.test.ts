// EnvelopeNode on real sockets: two envoys on loopback addresses (127.0.0.2, 127.0.0.3), each
// with its own swarm transport (mTLS, one fleet CA) and envelope store on disk, and a third
// fleet envoy playing a broken or hostile peer. An operator's story: a revoke swept on A is
// on B's disk a moment later, held for no local user; the stores then reconcile as equal;
// and every limit of the four routes answers with its code and changes nothing.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cryptoRng, systemClock } from '../../src/platform/clock.js';
import { envelopeId } from '../../src/trust/index.js';
import { gossipEnvelopeStore, revokesDir, storeRevoke } from '../../src/gitback/index.js';
import { EnvelopeNode, ProjectPeers, SwarmTransport, encodeEnvelopePost, gossipPath, swarmCall, type SwarmReply } from '../../src/swarm/index.js';
import { TestFleet, type TestEnvoy } from './transport-fleet.js';
import { gossipFixture, type GossipFixture } from './gossip-fixtures.js';

const HOSTS = { a: '127.0.0.2', b: '127.0.0.3' } as const;
let f: GossipFixture;
let root: string;
let mallory: TestEnvoy;
const envoys: Record<string, TestEnvoy> = {};
const nodes: Record<string, { node: EnvelopeNode; transport: SwarmTransport; peers: ProjectPeers; port: number; dir: string }> = {};

const held = (h: string): string[] => {
  const d = revokesDir(nodes[h]!.dir, f.pid);
  return existsSync(d) ? readdirSync(d).sort() : [];
};

async function until(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  f = await gossipFixture();
  root = mkdtempSync(join(tmpdir(), 'vigo-envelope-node-'));
  const fleet = await TestFleet.create();
  for (const h of ['a', 'b'] as const) envoys[h] = await fleet.envoy(h);
  mallory = await fleet.envoy('mallory');
  for (const h of ['a', 'b'] as const) {
    const transport = new SwarmTransport({ identity: envoys[h]!.identity, host: HOSTS[h], port: 0 });
    const dir = join(root, h, 'envelopes');
    const peers = new ProjectPeers({ selfHost: HOSTS[h], ttlMs: 86_400_000 });
    const node = new EnvelopeNode({
      transport,
      identity: envoys[h]!.identity,
      store: gossipEnvelopeStore(dir, () => []),
      peers,
      projects: () => [f.pid],
      clock: systemClock,
      rng: cryptoRng,
      gossip: { reconcileMs: 1_500, storePollMs: 500, floodMaxEnvelopes: 8 },
      callDeadlineMs: 20_000,
      localAddress: HOSTS[h],
    });
    const { port } = await transport.listen();
    nodes[h] = { node, transport, peers, port, dir };
  }
  // each knows the other, as discovery would have told it
  for (const [h, o] of [['a', 'b'], ['b', 'a']] as const) {
    const peers = nodes[h]!.peers;
    peers.observe({ kind: 'project', host: HOSTS[o], projectId: f.pid, handle: 'vigo-web', scope: 'swarm-wide' }, Date.now());
    peers.observe({ kind: 'envoy', host: HOSTS[o], envoyId: envoys[o]!.id, port: nodes[o]!.port }, Date.now());
  }
  for (const h of ['a', 'b']) nodes[h]!.node.start();
});

after(async () => {
  for (const n of Object.values(nodes)) {
    await n.node.close();
    await n.transport.close();
  }
  rmSync(root, { recursive: true, force: true });
});

const call = (to: 'a' | 'b', method: 'GET' | 'POST', path: string, body?: string): Promise<SwarmReply> =>
  swarmCall({ identity: mallory.identity, host: HOSTS[to], port: nodes[to]!.port, expectEnvoyId: envoys[to]!.id, method, path, deadlineMs: 30_000, ...(body !== undefined ? { body } : {}) });

test('a revoke swept on A is on B’s disk a moment later, held for no local user, and the two then reconcile as equal', async () => {
  const id = envelopeId(f.revokeBob);
  storeRevoke(nodes.a!.dir, f.revokeBob, 1000); // the reactor's sweep of alice's sentinel on A
  nodes.a!.node.poke();
  await until('B holds the revoke', () => held('b').includes(`${id}.json`));
  const file = join(revokesDir(nodes.b!.dir, f.pid), `${id}.json`);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const equalBefore = nodes.a!.node.machine.counters.equal;
  await until('a reconciliation finds the stores equal', () => nodes.a!.node.machine.counters.equal > equalBefore);
  const d = await call('b', 'GET', gossipPath(f.pid, 'digest'));
  console.log(`B's digest over the wire: ${d.body.length} bytes ${d.body.toString()}`);
  assert.equal(d.status, 200);
  assert.equal(JSON.parse(d.body.toString()).count, 1);
});

test('every limit of the routes answers with its code and stores nothing', async () => {
  const before = held('b');
  const cases: Array<[string, Promise<SwarmReply>, number, string]> = [
    ['a body over 512 KiB', call('b', 'POST', gossipPath(f.pid, 'revokes'), JSON.stringify({ v: 1, envelopes: ['x'.repeat(600 * 1024)] })), 413, ''],
    ['65 envelopes', call('b', 'POST', gossipPath(f.pid, 'revokes'), encodeEnvelopePost(Array.from({ length: 65 }, () => f.badSignature))), 400, 'E_GOSSIP_BODY'],
    ['not JSON', call('b', 'POST', gossipPath(f.pid, 'leaves'), 'leave now'), 400, 'E_GOSSIP_BODY'],
    ['a project B does not hold', call('b', 'GET', gossipPath(f.otherPid, 'digest')), 404, 'E_GOSSIP_PROJECT_UNKNOWN'],
    ['not a project id', call('b', 'GET', '/swarm/gitback/envelopes/zz/all'), 400, 'E_SWARM_PROJECT_ID'],
    ['a bucket that is no hex digit', call('b', 'GET', `${gossipPath(f.pid, 'all')}?buckets=0,g`), 400, 'E_GOSSIP_BODY'],
  ];
  for (const [what, p, status, code] of cases) {
    const r = await p;
    assert.equal(r.status, status, `${what}: ${r.body.toString().slice(0, 200)}`);
    if (code !== '') assert.equal(r.error?.code, code, what);
  }
  // a flood: 8 envelopes per window for mallory, then 429 naming when to send again
  for (let i = 0; i < 8; i++) assert.equal((await call('b', 'POST', gossipPath(f.pid, 'revokes'), encodeEnvelopePost([f.forgedByMember]))).status, 200);
  const flood = await call('b', 'POST', gossipPath(f.pid, 'revokes'), encodeEnvelopePost([f.revokeUnseen]));
  assert.deepEqual([flood.status, flood.error?.code], [429, 'E_GOSSIP_FLOOD']);
  assert.match(flood.error?.message ?? '', /send again in \d+ ms/);
  assert.deepEqual(held('b'), before, 'nothing stored');
});
