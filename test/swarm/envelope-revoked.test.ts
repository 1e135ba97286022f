// Revoked everywhere (issue 12 item 2), the swarm side: once a revoke has been GOSSIPED to
// envoy B (it arrived by POST from a peer, not from a local user's sentinel), B's swarm
// endpoints refuse a bundle request and a push carrying a chain that contains the revoked
// token, naming the token, the revocation's envelope id and its reason. Real disk store,
// real SwarmNode over mTLS on loopback, real keys. The daemon side is
// test/gitback/envelope-revoked.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { seededRng } from '../../src/platform/clock.js';
import { tokenId, type Hex } from '../../src/trust/index.js';
import { ProjectPeers, SwarmNode, gossipTrustView, swarmCall } from '../../src/swarm/index.js';
import { oid, sign } from './fixtures.js';
import { gossiped } from './gossip-revoked.js';
import { TestFleet } from './transport-fleet.js';

test("after a gossiped revoke, B's swarm endpoints refuse a bundle request and a push carrying bob's chain, naming the revocation", async () => {
  const g = await gossiped();
  const fleet = await TestFleet.create();
  const [ea, eb] = [await fleet.envoy('a'), await fleet.envoy('b')];
  const node = new SwarmNode({
    identity: eb.identity,
    envoyId: eb.id,
    listenHost: '127.0.0.1',
    port: 0,
    base: join(g.root, 'base'),
    projectsDir: join(g.root, 'projects'),
    peers: new ProjectPeers({ selfHost: '127.0.0.1' }),
    clock: g.clock,
    rng: seededRng(3),
    trustView: (pid: Hex) => gossipTrustView(g.bStore, pid, g.clock.now()),
    callDeadlineMs: 20_000,
  });
  const { port } = await node.start();
  try {
    const { f } = g;
    const call = (method: 'GET' | 'POST', path: string, extra: { headers?: Record<string, string>; body?: string } = {}) =>
      swarmCall({ identity: ea.identity, host: '127.0.0.1', port, expectEnvoyId: eb.id, method, path, deadlineMs: 30_000, ...extra });
    const bundle = await call('GET', `/swarm/gitback/bundle/${f.pid}`, { headers: { 'x-vigo-chain': f.bobChain } });
    console.log(`bundle refused: ${bundle.status} ${bundle.error?.code} ${bundle.error?.message}`);
    assert.deepEqual([bundle.status, bundle.error?.code], [403, 'E_SWARM_CHAIN']);
    for (const s of [tokenId(f.bob), g.revocationId, 'laptop lost']) assert.ok(bundle.error?.message.includes(s), `bundle refusal names ${s}`);
    // alice's chain is not revoked: the same request passes the chain check
    const ok = await call('GET', `/swarm/gitback/bundle/${f.pid}`, { headers: { 'x-vigo-chain': f.aliceChain } });
    assert.notEqual(ok.status, 403, ok.error?.message);

    const manifest = await sign(f.pid, 'bob', 1, [{ ref: 'refs/heads/main', old: null, new: oid('c1') }]);
    const push = await call('POST', `/swarm/gitback/push/${f.pid}`, { body: `${JSON.stringify({ v: 1, exact: true, updates: [{ manifest, chain: f.bobChain }] })}\n` });
    const answer = JSON.parse(push.body.toString('utf8')) as { accepted: boolean; error?: { code: string; message: string } };
    console.log(`push refused: ${push.status} ${answer.error?.code} ${answer.error?.message}`);
    assert.deepEqual([push.status, answer.accepted, answer.error?.code], [409, false, 'E_MANIFEST_CHAIN']);
    for (const s of [tokenId(f.bob), g.revocationId, 'laptop lost']) assert.ok(answer.error?.message.includes(s), `push refusal names ${s}`);
    assert.deepEqual(node.tips(f.pid), {}, 'nothing moved');
  } finally {
    await node.close();
    g.cleanup();
  }
});
