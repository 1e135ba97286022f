// Envoy A gossips alice's revoke of bob to envoy B, whose envelope store is on disk under a
// fresh VIGO_ROOT: the start of the "revoked everywhere" stories (issue 12 item 2).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, seededRng } from '../../src/platform/clock.js';
import { paths } from '../../src/platform/paths.js';
import { envelopeId } from '../../src/trust/index.js';
import { gossipEnvelopeStore } from '../../src/gitback/index.js';
import { EnvelopeGossip, ProjectPeers, type PostEnvelopes } from '../../src/swarm/index.js';
import { HANDLE, NOW } from './fixtures.js';
import { gossipFixture, MemoryGossipStore } from './gossip-fixtures.js';

/** Envoy A holds alice's revoke of bob (swept from alice's sentinel) and gossips it to envoy B, whose store is on disk. */
export async function gossiped() {
  const f = await gossipFixture();
  const root = mkdtempSync(join(tmpdir(), 'vigo-gossip-revoked-'));
  const env = { VIGO_ROOT: root };
  const clock = new ManualClock((NOW + 60) * 1000);
  const bStore = gossipEnvelopeStore(paths.gitbackEnvelopes(env), () => []);
  const b = new EnvelopeGossip(bStore, new ProjectPeers({ selfHost: 'b' }), () => [f.pid], seededRng(2));
  const aStore = new MemoryGossipStore();
  const aPeers = new ProjectPeers({ selfHost: 'a', ttlMs: 86_400_000 });
  aPeers.observe({ kind: 'project', host: 'b', projectId: f.pid, handle: HANDLE, scope: 'swarm-wide' }, clock.now());
  aPeers.observe({ kind: 'envoy', host: 'b', envoyId: 'envoy-b', port: 1531 }, clock.now());
  const a = new EnvelopeGossip(aStore, aPeers, () => [f.pid], seededRng(1), { reconcileMs: 3_600_000 });
  for (const o of a.tick(clock.now()).outputs) a.digested(clock.now(), o.requestId, { ok: true, value: b.digest(f.pid, clock.now()) });
  aStore.put('revoke', f.revokeBob); // the reactor's sweep on A
  const post = a.tick(clock.now()).outputs.find((o): o is PostEnvelopes => o.type === 'post');
  assert.ok(post, 'A pushes the revoke to B');
  const r = b.receive(clock.now(), 'envoy-a', f.pid, 'revoke', post.envelopes, Buffer.byteLength(JSON.stringify(post.envelopes)));
  assert.deepEqual(r.answer.accepted, [envelopeId(f.revokeBob)]);
  return { f, root, env, clock, bStore, revocationId: envelopeId(f.revokeBob), cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

