// The envelope gossip machine one rule at a time, as an operator would check it: what a
// receiver refuses (and that its store did not change), what it accepts out of order, how a
// flood is cut, what is pushed to whom, and what reconciliation costs. Real keys, real
// chains, real signatures; only the network is absent (the machine does no I/O).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRng } from '../../src/platform/clock.js';
import { envelopeId, type Hex } from '../../src/trust/index.js';
import {
  EnvelopeGossip,
  ProjectPeers,
  computeDigest,
  encodeEnvelopePost,
  type EnvelopeGossipConfig,
  type GossipOutput,
  type PostEnvelopes,
} from '../../src/swarm/index.js';
import { NOW } from './fixtures.js';
import { gossipFixture, MemoryGossipStore } from './gossip-fixtures.js';

const T = (NOW + 60) * 1000;
const HOUR = 3_600_000;

function peersOf(pid: Hex, names: string[], now = T): ProjectPeers {
  const p = new ProjectPeers({ selfHost: 'self', ttlMs: 100 * HOUR });
  for (const n of names) {
    p.observe({ kind: 'project', host: n, projectId: pid, handle: 'vigo-web', scope: 'swarm-wide' }, now);
    p.observe({ kind: 'envoy', host: n, envoyId: `envoy-${n}`, port: 1531 }, now);
  }
  return p;
}

function machine(pid: Hex, peers: string[] = [], config: Partial<EnvelopeGossipConfig> = {}) {
  const store = new MemoryGossipStore();
  const m = new EnvelopeGossip(store, peersOf(pid, peers), () => [pid], seededRng(7), config);
  return { store, m };
}

const posts = (o: GossipOutput[]): PostEnvelopes[] => o.filter((x): x is PostEnvelopes => x.type === 'post');
const bytes = (e: unknown[]): number => Buffer.byteLength(JSON.stringify({ v: 1, envelopes: e }));

test('a revoke by an admin of the project is stored once; sent again it is answered as held and nothing changes', async () => {
  const f = await gossipFixture();
  const { store, m } = machine(f.pid);
  const r = m.receive(T, 'envoy-a', f.pid, 'revoke', [f.revokeBob], bytes([f.revokeBob]));
  assert.equal(r.status, 200);
  assert.deepEqual(r.answer.accepted, [envelopeId(f.revokeBob)]);
  assert.deepEqual(store.ids(f.pid), [envelopeId(f.revokeBob)]);
  const again = m.receive(T, 'envoy-b', f.pid, 'revoke', [f.revokeBob, f.revokeBob], bytes([f.revokeBob, f.revokeBob]));
  assert.deepEqual([again.answer.accepted, again.answer.held], [[], [envelopeId(f.revokeBob), envelopeId(f.revokeBob)]]);
  assert.equal(store.puts, 1, 'the store was written once');
  assert.equal(store.load(f.pid).set.revoked.get(f.bobToken), 'revoked by an admin: laptop lost');
});

test('forged revokes are dropped with their code and change no store: member signer, other project, bad signature', async () => {
  const f = await gossipFixture();
  const { store, m } = machine(f.pid);
  const cases: Array<[string, unknown, string]> = [
    ['a member signs a revoke', f.forgedByMember, 'E_NOT_ADMIN'],
    ["another project's revoke on this project's route", f.otherProject, 'E_WRONG_PROJECT'],
    ['the reason edited after signing', f.badSignature, 'E_BAD_SIGNATURE'],
    ['a leave on the revokes route', f.bobLeaves, 'E_GOSSIP_KIND'],
    ['not an envelope at all', { kind: 'revoke', hello: 1 }, 'E_MALFORMED'],
  ];
  for (const [what, env, code] of cases) {
    const r = m.receive(T, 'envoy-evil', f.pid, 'revoke', [env], bytes([env]));
    assert.equal(r.status, 200, what);
    assert.deepEqual(r.answer.accepted, [], what);
    assert.equal(r.answer.refused[0]?.code, code, `${what}: ${r.answer.refused[0]?.message ?? ''}`);
  }
  assert.equal(store.puts, 0, 'nothing was stored');
  assert.equal(m.digest(f.pid, T).count, 0);
});

test('a leave is taken only from its own subject, and the leaver is then among leftSubjects', async () => {
  const f = await gossipFixture();
  const { store, m } = machine(f.pid);
  const forged = m.receive(T, 'envoy-a', f.pid, 'leave', [f.leaveNotOwn], bytes([f.leaveNotOwn]));
  assert.equal(forged.answer.refused[0]?.code, 'E_BAD_SIGNATURE', forged.answer.refused[0]?.message);
  assert.equal(store.puts, 0);
  assert.deepEqual([...m.leftSubjects(f.pid, T)], []);
  const r = m.receive(T, 'envoy-a', f.pid, 'leave', [f.bobLeaves], bytes([f.bobLeaves]));
  assert.deepEqual(r.answer.accepted, [envelopeId(f.bobLeaves)]);
  assert.deepEqual([...m.leftSubjects(f.pid, T)], [f.bob.subject]);
  assert.equal(store.load(f.pid).set.left.get(f.bobToken), 'its holder left the project');
});

test('a revoke of a token this envoy has never seen is accepted (out-of-order delivery) and applies when the token arrives', async () => {
  const f = await gossipFixture();
  const { store, m } = machine(f.pid);
  const r = m.receive(T, 'envoy-a', f.pid, 'revoke', [f.revokeUnseen], bytes([f.revokeUnseen]));
  assert.deepEqual(r.answer.accepted, [envelopeId(f.revokeUnseen)]);
  assert.equal(store.load(f.pid).set.revoked.get(f.revokeUnseen.token_id), 'revoked by an admin: revoked before it arrived');
});

test('a revoke by an admin who stood revoked is refused, in either arrival order, and both orders end with the same digest', async () => {
  const f = await gossipFixture();
  const x = machine(f.pid);
  x.m.receive(T, 'envoy-a', f.pid, 'revoke', [f.revokeAlice], 1000);
  const late = x.m.receive(T, 'envoy-a', f.pid, 'revoke', [f.aliceRevokesLate], 1000);
  assert.equal(late.answer.refused[0]?.code, 'E_REVOKER_REVOKED', late.answer.refused[0]?.message);
  const y = machine(f.pid);
  y.m.receive(T, 'envoy-a', f.pid, 'revoke', [f.aliceRevokesLate], 1000);
  y.m.receive(T, 'envoy-a', f.pid, 'revoke', [f.revokeAlice], 1000);
  assert.equal(x.m.digest(f.pid, T).hash, y.m.digest(f.pid, T).hash, 'what is in force is the same set whatever the order');
  assert.equal(y.store.load(f.pid).set.revoked.has(f.aliceRevokesLate.token_id), false, 'the late revoke does not stand');
  // and in one POST, both at once
  const z = machine(f.pid);
  const both = z.m.receive(T, 'envoy-a', f.pid, 'revoke', [f.aliceRevokesLate, f.revokeAlice], 1000);
  assert.deepEqual(both.answer.accepted, [envelopeId(f.revokeAlice)]);
  assert.equal(both.answer.refused[0]?.code, 'E_REVOKER_REVOKED');
});

test('a flood from one peer is cut per project and window, in envelopes and in bytes; other peers are not affected', async () => {
  const f = await gossipFixture();
  const { store, m } = machine(f.pid, [], { floodMaxEnvelopes: 3, floodMaxBytes: 20_000, floodWindowMs: 60_000 });
  const one = [f.revokeUnseen];
  for (let i = 0; i < 3; i++) assert.equal(m.receive(T, 'envoy-evil', f.pid, 'revoke', one, bytes(one)).status, 200);
  const cut = m.receive(T + 1000, 'envoy-evil', f.pid, 'revoke', [f.revokeBob], bytes([f.revokeBob]));
  assert.equal(cut.status, 429);
  assert.equal(cut.error?.code, 'E_GOSSIP_FLOOD');
  assert.match(cut.error?.message ?? '', /send again in \d+ ms/);
  assert.deepEqual(store.ids(f.pid), [envelopeId(f.revokeUnseen)], 'nothing of the refused POST was stored');
  assert.equal(m.receive(T + 1000, 'envoy-good', f.pid, 'revoke', [f.revokeBob], bytes([f.revokeBob])).status, 200, 'another peer still gets through');
  assert.equal(m.receive(T + 61_000, 'envoy-evil', f.pid, 'revoke', one, bytes(one)).status, 200, 'the next window opens');
  const big = m.receive(T + 61_000, 'envoy-evil', f.pid, 'revoke', one, 30_000);
  assert.equal(big.status, 429, 'bytes count too');
  assert.equal(m.counters.flooded, 2);
});

test('a project this envoy does not hold is refused whole (404), nothing verified or stored', async () => {
  const f = await gossipFixture();
  const { store, m } = machine(f.pid);
  const r = m.receive(T, 'envoy-a', f.otherPid, 'revoke', [f.otherProject], 1000);
  assert.deepEqual([r.status, r.error?.code], [404, 'E_GOSSIP_PROJECT_UNKNOWN']);
  assert.equal(store.puts, 0);
});

test('a new envelope in the store is pushed to every known peer of the project, but not back to the peer it came from', async () => {
  const f = await gossipFixture();
  const { m } = machine(f.pid, ['b', 'c', 'd'], { reconcileMs: HOUR });
  // first look: baseline, and every peer first heard is reconciled with at once
  const first = m.tick(T);
  assert.deepEqual(first.outputs.map((o) => o.type), ['digest', 'digest', 'digest']);
  for (const o of first.outputs) m.digested(T, o.requestId, { ok: true, value: computeDigest(f.pid, []) });
  m.receive(T, 'envoy-b', f.pid, 'revoke', [f.revokeBob], 1000);
  const step = m.tick(T + 1);
  const p = posts(step.outputs);
  assert.deepEqual(p.map((x) => x.peer).sort(), ['c:1531', 'd:1531']);
  assert.ok(p.every((x) => x.kind === 'revoke' && x.envelopes.length === 1 && envelopeId(x.envelopes[0]!) === envelopeId(f.revokeBob)));
  // a POST that fails is retried after the back-off; one that succeeds is not sent again
  m.posted(T + 2, p[0]!.requestId, { ok: false, error: 'connect refused' });
  m.posted(T + 2, p[1]!.requestId, { ok: true, value: { v: 1, accepted: [envelopeId(f.revokeBob)], held: [], refused: [] } });
  assert.deepEqual(posts(m.tick(T + 3).outputs), [], 'no retry before the back-off');
  const retry = posts(m.tick(T + 2 + m.config.retryBaseMs * 2).outputs);
  assert.deepEqual(retry.map((x) => x.peer), [p[0]!.peer]);
});

test('two equal stores reconcile with one digest request and nothing else', async () => {
  const f = await gossipFixture();
  const a = machine(f.pid, ['b'], { reconcileMs: HOUR });
  const b = machine(f.pid, ['a'], { reconcileMs: HOUR });
  for (const x of [a, b]) x.m.receive(T, 'envoy-z', f.pid, 'revoke', [f.revokeBob, f.revokeUnseen], 2000);
  const out = a.m.tick(T).outputs;
  assert.deepEqual(out.map((o) => [o.type, o.peer]), [['digest', 'b:1531']]);
  const d = b.m.digest(f.pid, T);
  const wire = JSON.stringify(d);
  console.log(`digest of two equal stores: ${Buffer.byteLength(wire)} bytes (${d.count} envelopes)`);
  assert.ok(Buffer.byteLength(wire) < 256, 'one small answer');
  const after = a.m.digested(T, out[0]!.requestId, { ok: true, value: d });
  assert.deepEqual(after.outputs, []);
  assert.equal(a.m.counters.equal, 1);
  assert.ok(after.wakeAt !== null && after.wakeAt > T);
});

test('a mismatch pulls, merges under the receiver rules and pushes back what the peer lacks: one round converges both', async () => {
  const f = await gossipFixture();
  const a = machine(f.pid, ['b'], { reconcileMs: HOUR });
  const b = machine(f.pid, ['a'], { reconcileMs: HOUR });
  a.m.receive(T, 'envoy-z', f.pid, 'revoke', [f.revokeBob], 1000);
  b.m.receive(T, 'envoy-z', f.pid, 'leave', [f.bobLeaves], 1000);
  b.m.tick(T); // b's baseline
  const d = a.m.tick(T).outputs[0]!;
  const pull = a.m.digested(T, d.requestId, { ok: true, value: b.m.digest(f.pid, T) }).outputs[0]!;
  assert.equal(pull.type, 'pull');
  const forged = b.m.all(f.pid, T);
  forged.revokes.push(f.forgedByMember, f.otherProject); // a hostile peer's `all` is checked like a POST
  const back = posts(a.m.pulled(T, pull.requestId, { ok: true, value: forged }).outputs);
  assert.deepEqual(a.store.ids(f.pid), [envelopeId(f.revokeBob), envelopeId(f.bobLeaves)].sort());
  assert.equal(a.m.refusals.E_NOT_ADMIN, 1);
  assert.equal(a.m.refusals.E_WRONG_PROJECT, 1);
  assert.deepEqual(back.map((x) => [x.peer, x.kind, x.envelopes.map(envelopeId)]), [['b:1531', 'revoke', [envelopeId(f.revokeBob)]]]);
  b.m.receive(T, 'envoy-a', f.pid, 'revoke', back[0]!.envelopes, 1000);
  assert.equal(a.m.digest(f.pid, T).hash, b.m.digest(f.pid, T).hash);
});

test('a large store with a small difference is reconciled by bucket: only the differing buckets are pulled', async () => {
  const f = await gossipFixture();
  const { mintRevoke } = await import('../../src/trust/index.js');
  const { signer, sha } = await import('./fixtures.js');
  const many = await Promise.all(Array.from({ length: 40 }, (_, i) => mintRevoke(signer('alice'), [f.root, f.alice], [], sha(`token/${i}`), null, NOW)));
  const a = machine(f.pid, ['b'], { reconcileMs: HOUR });
  const b = machine(f.pid, ['a'], { reconcileMs: HOUR });
  for (let i = 0; i < many.length; i += 20) {
    a.m.receive(T, 'z', f.pid, 'revoke', many.slice(i, i + 20), 1000);
    b.m.receive(T, 'z', f.pid, 'revoke', many.slice(i, i + 20), 1000);
  }
  b.m.receive(T, 'z', f.pid, 'revoke', [f.revokeBob], 1000);
  const d1 = a.m.tick(T).outputs[0]!;
  const d2 = a.m.digested(T, d1.requestId, { ok: true, value: b.m.digest(f.pid, T) }).outputs[0]!;
  assert.deepEqual([d2.type, d2.type === 'digest' && d2.buckets], ['digest', true]);
  const pull = a.m.digested(T, d2.requestId, { ok: true, value: b.m.digest(f.pid, T, true) }).outputs[0]!;
  assert.equal(pull.type, 'pull');
  const want = parseInt(envelopeId(f.revokeBob)[0]!, 16);
  assert.deepEqual(pull.type === 'pull' && pull.buckets, [want]);
  const served = b.m.all(f.pid, T, [want]);
  const full = JSON.stringify(b.m.all(f.pid, T)).length;
  console.log(`bucketed pull: ${JSON.stringify(served).length} of ${full} bytes of the full store`);
  a.m.pulled(T, pull.requestId, { ok: true, value: served });
  assert.equal(a.m.digest(f.pid, T).hash, b.m.digest(f.pid, T).hash);
  assert.ok(encodeEnvelopePost(many).length > 0);
});

test("a hostile peer's huge `all` answer costs at most MAX_PULL_VERIFY verifications per round; the rest waits", async () => {
  const f = await gossipFixture();
  const { MAX_PULL_VERIFY } = await import('../../src/swarm/index.js');
  const { sha } = await import('./fixtures.js');
  const a = machine(f.pid, ['b'], { reconcileMs: HOUR });
  const d = a.m.tick(T).outputs[0]!;
  const pull = a.m.digested(T, d.requestId, { ok: true, value: { v: 1, project_id: f.pid, count: 1, hash: 'f'.repeat(64) } }).outputs[0]!;
  const bogus = Array.from({ length: MAX_PULL_VERIFY + 10 }, (_, i) => ({ ...f.badSignature, token_id: sha(`bogus/${i}`) }));
  a.m.pulled(T, pull.requestId, { ok: true, value: { v: 1, project_id: f.pid, revokes: bogus, leaves: [] } });
  assert.deepEqual([a.m.counters.refused, a.m.counters.deferred], [MAX_PULL_VERIFY, 10]);
  assert.equal(a.store.puts, 0);
});
