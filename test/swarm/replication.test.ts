// The replication machine one rule at a time, as an operator would check it: what a
// receiver refuses (and that nothing moved), what a sender sends to whom, and what the
// catch-up reactor asks for on each tick. Real keys, real chains, real signatures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenId } from '../../src/trust/index.js';
import { seededRng } from '../../src/platform/clock.js';
import { tipsOf, verifyManifest, type FetchBundle, type SendBundle, type ReplicationOutput } from '../../src/swarm/index.js';
import { NOW, ENVOY_A, ENVOY_B, pk, projectFixture, sign } from './fixtures.js';
import { CommitGraph, makeEnvoy, update } from './harness.js';

const T = NOW * 1000;
const sends = (o: ReplicationOutput[]): SendBundle[] => o.filter((x): x is SendBundle => x.type === 'send');
const fetches = (o: ReplicationOutput[]): FetchBundle[] => o.filter((x): x is FetchBundle => x.type === 'fetch');

async function world() {
  const f = await projectFixture();
  const g = new CommitGraph();
  const c1 = g.commit('c1');
  const c2 = g.commit('c2', [c1]);
  const c3 = g.commit('c3', [c2]);
  const x1 = g.commit('x1', [c1]); // a sibling of c2: history that went elsewhere
  const m1 = await sign(f.pid, 'bob', 1, [{ ref: 'refs/heads/main', old: null, new: c1 }]);
  const m2 = await sign(f.pid, 'bob', 2, [{ ref: 'refs/heads/main', old: c1, new: c2 }]);
  const m3 = await sign(f.pid, 'bob', 3, [{ ref: 'refs/heads/main', old: c2, new: c3 }]);
  return { f, g, c1, c2, c3, x1, m1, m2, m3, u: (m: typeof m1) => update(m, f.bobChain) };
}

test('a receiver applies a push whose old tip it holds, and refuses the same manifest replayed, with nothing moved', async () => {
  const w = await world();
  const b = makeEnvoy('b', w.g);
  assert.equal(b.machine.receive(T, w.f.pid, [w.u(w.m1)], w.m1.bundle_sha256).accepted, true);
  const first = b.machine.receive(T, w.f.pid, [w.u(w.m2)], w.m2.bundle_sha256);
  assert.deepEqual([first.accepted, first.refsChanged], [true, ['refs/heads/main']]);
  const replay = b.machine.receive(T, w.f.pid, [w.u(w.m2)], w.m2.bundle_sha256);
  assert.deepEqual([replay.accepted, replay.code], [false, 'E_MANIFEST_REPLAY']);
  assert.deepEqual(tipsOf(b.store.refs(w.f.pid)), { 'refs/heads/main': w.c2 });
});

test('an older manifest of the same pusher is refused as a rollback, even one the receiver never saw', async () => {
  const w = await world();
  const b = makeEnvoy('b', w.g);
  b.machine.receive(T, w.f.pid, [w.u(w.m1)], w.m1.bundle_sha256);
  b.machine.receive(T, w.f.pid, [w.u(w.m3)], null); // relayed: b skipped c2 and fast-forwarded to c3
  assert.deepEqual(tipsOf(b.store.refs(w.f.pid)), { 'refs/heads/main': w.c3 });
  for (const bundle of [w.m2.bundle_sha256, null]) {
    const r = b.machine.receive(T, w.f.pid, [w.u(w.m2)], bundle);
    assert.equal(r.accepted, false);
    assert.equal(r.code, 'E_MANIFEST_ROLLBACK', r.message);
  }
  assert.deepEqual(tipsOf(b.store.refs(w.f.pid)), { 'refs/heads/main': w.c3 }, 'main never moved back');
});

test("another pusher's manifest that would move a ref to an ancestor is a rollback; one off its history is divergence", async () => {
  const w = await world();
  const b = makeEnvoy('b', w.g);
  b.machine.receive(T, w.f.pid, [w.u(w.m1)], null);
  b.machine.receive(T, w.f.pid, [w.u(w.m2)], null);
  b.machine.receive(T, w.f.pid, [w.u(w.m3)], null);
  const older = await sign(w.f.pid, 'alice', 1, [{ ref: 'refs/heads/main', old: w.c1, new: w.c2 }], { envoy: ENVOY_B });
  const r1 = b.machine.receive(T, w.f.pid, [update(older, w.f.aliceChain)], older.bundle_sha256);
  assert.deepEqual([r1.accepted, r1.code], [false, 'E_MANIFEST_ROLLBACK']);
  const elsewhere = await sign(w.f.pid, 'alice', 2, [{ ref: 'refs/heads/main', old: w.c1, new: w.x1 }], { envoy: ENVOY_B });
  const r2 = b.machine.receive(T, w.f.pid, [update(elsewhere, w.f.aliceChain)], elsewhere.bundle_sha256);
  assert.deepEqual([r2.accepted, r2.code], [false, 'E_REF_DIVERGED']);
  assert.match(r2.message ?? '', /refs\/heads\/main: held here at [0-9a-f]{40}/, 'the refusal names the ref and the tip held');
  assert.deepEqual(tipsOf(b.store.refs(w.f.pid)), { 'refs/heads/main': w.c3 });
});

test('in push mode a seq not above the stream\'s highest is refused, even for another ref', async () => {
  const w = await world();
  const b = makeEnvoy('b', w.g);
  const dev = await sign(w.f.pid, 'bob', 5, [{ ref: 'refs/heads/dev', old: null, new: w.c1 }]);
  const late = await sign(w.f.pid, 'bob', 4, [{ ref: 'refs/heads/feature', old: null, new: w.c1 }]);
  assert.equal(b.machine.receive(T, w.f.pid, [w.u(dev)], dev.bundle_sha256).accepted, true);
  const r = b.machine.receive(T, w.f.pid, [w.u(late)], late.bundle_sha256);
  assert.deepEqual([r.accepted, r.code], [false, 'E_MANIFEST_ROLLBACK']);
  // Relayed (sync mode) it applies: catch-up delivers heads out of order, and the ref-level rules still hold.
  const s = b.machine.receive(T, w.f.pid, [w.u(late)], null);
  assert.deepEqual([s.accepted, s.refsChanged], [true, ['refs/heads/feature']]);
});

test('forged, revoked, wrong-project and wrong-bundle updates are refused with their codes and change nothing', async () => {
  const w = await world();
  const b = makeEnvoy('b', w.g);
  b.machine.receive(T, w.f.pid, [w.u(w.m1)], null);
  const before = tipsOf(b.store.refs(w.f.pid));
  const forged = { ...w.m2, refs: [{ ref: 'refs/heads/main', old: w.c1, new: w.x1 }] };
  const cases: Array<[string, ReturnType<typeof b.machine.receive>]> = [
    ['E_MANIFEST_SIGNATURE', b.machine.receive(T, w.f.pid, [update(forged, w.f.bobChain)], w.m2.bundle_sha256)],
    ['E_MANIFEST_BUNDLE_HASH', b.machine.receive(T, w.f.pid, [w.u(w.m2)], w.m3.bundle_sha256)],
    ['E_MANIFEST_WRONG_PROJECT', b.machine.receive(T, w.f.otherPid, [w.u(w.m2)], w.m2.bundle_sha256)],
    ['E_MANIFEST_SIGNER_NOT_LEAF', b.machine.receive(T, w.f.pid, [update(w.m2, w.f.aliceChain)], w.m2.bundle_sha256)],
  ];
  b.revoked.set(tokenId(w.f.bob), 'laptop lost');
  cases.push(['E_MANIFEST_CHAIN', b.machine.receive(T, w.f.pid, [w.u(w.m2)], w.m2.bundle_sha256)]);
  for (const [code, r] of cases) {
    assert.equal(r.accepted, false, code);
    assert.equal(r.code, code, r.message);
  }
  assert.deepEqual(tipsOf(b.store.refs(w.f.pid)), before);
});

test('a non-member envoy refuses a members-only bundle, and the sender stops sending it there', async () => {
  const w = await world();
  const mo = await sign(w.f.pid, 'bob', 1, [{ ref: 'refs/heads/main', old: null, new: w.c1 }], { scope: 'members-only' });
  const a = makeEnvoy('a', w.g);
  const outsider = makeEnvoy('outsider', w.g);
  const member = makeEnvoy('member', w.g, { member: [[w.f.pid, 'members-only']] });
  // The outsider is listed by hand (cross_subnet_members), the member announces the project.
  a.peers.setCrossSubnetMembers(w.f.pid, ['outsider']);
  a.peers.observe({ kind: 'project', host: 'member', projectId: w.f.pid, handle: 'vigo-web', scope: 'members-only' }, T);
  a.peers.observe({ kind: 'envoy', host: 'bystander', envoyId: ENVOY_B, port: 1531 }, T);
  const step = a.machine.localPush(T, update(mo, w.f.bobChain));
  assert.deepEqual(sends(step.outputs).map((s) => s.peer).sort(), ['member:1531', 'outsider:1531'], 'a presence-only envoy gets no members-only bundle');
  for (const s of sends(step.outputs)) {
    const rx = s.peer === 'member:1531' ? member : outsider;
    const r = rx.machine.receive(T, s.projectId, s.updates, s.exact ? mo.bundle_sha256 : null);
    if (rx === outsider) assert.deepEqual([r.accepted, r.code], [false, 'E_NOT_MEMBER']);
    else assert.equal(r.accepted, true);
    a.machine.sent(T, s.requestId, { ok: true, value: r });
  }
  assert.equal(outsider.store.refs(w.f.pid).size, 0, 'nothing landed on the outsider');
  const next = await sign(w.f.pid, 'bob', 2, [{ ref: 'refs/heads/main', old: w.c1, new: w.c2 }], { scope: 'members-only' });
  const again = a.machine.localPush(T + 1000, update(next, w.f.bobChain));
  assert.deepEqual(sends(again.outputs).map((s) => s.peer), ['member:1531']);
  assert.equal(sends(again.outputs)[0]!.exact, true, 'the member is known to hold the old tip: the push bundle itself goes');
});

test('an envoy whose local members left refuses members-only bundles and fetches none, though its store still marks it a member', async () => {
  // the stacks project on a host whose vigosrv left the ops-puddle: the member mark outlives it
  const w = await world();
  const mo = await sign(w.f.pid, 'bob', 1, [{ ref: 'refs/heads/main', old: null, new: w.c1 }], { scope: 'members-only' });
  const b = makeEnvoy('b', w.g, { member: [[w.f.pid, 'members-only']] });
  const held = new Set<string>([w.f.pid]);
  b.machine.localMember = (pid) => held.has(pid);
  held.delete(w.f.pid);
  assert.equal(b.store.project(w.f.pid)?.member, true, 'the store still says member');
  assert.deepEqual(b.machine.precheck(T, w.f.pid, [update(mo, w.f.bobChain)], true), { ok: false, code: 'E_NOT_MEMBER', message: `project ${w.f.pid} is members-only and no local member holds it any more (its members here left)` });
  const r = b.machine.receive(T, w.f.pid, [update(mo, w.f.bobChain)], mo.bundle_sha256);
  assert.deepEqual([r.accepted, r.code], [false, 'E_NOT_MEMBER']);
  const sync = b.machine.receive(T, w.f.pid, [update(mo, w.f.bobChain)], null);
  assert.deepEqual([sync.accepted, sync.code], [false, 'E_NOT_MEMBER'], 'a catch-up answer is refused too');
  assert.equal(b.store.refs(w.f.pid).size, 0, 'nothing landed');
  b.peers.observe({ kind: 'project', host: 'holder', projectId: w.f.pid, handle: 'stacks', scope: 'members-only' }, T);
  assert.deepEqual(fetches(b.machine.tick(T).outputs), [], 'no DR fetch for a project no local member holds');
  // a member holds it again: the same bundle is taken
  held.add(w.f.pid);
  assert.equal(b.machine.receive(T, w.f.pid, [update(mo, w.f.bobChain)], mo.bundle_sha256).accepted, true);
});

test('swarm-wide goes to every gitback envoy heard; incremental once the peer is known, full when not', async () => {
  const w = await world();
  const a = makeEnvoy('a', w.g);
  const c = makeEnvoy('c', w.g);
  a.peers.observe({ kind: 'envoy', host: 'c', envoyId: ENVOY_B, port: 1531 }, T);
  const s1 = sends(a.machine.localPush(T, w.u(w.m1)).outputs);
  assert.deepEqual(s1.map((s) => [s.peer, s.base, s.exact]), [['c:1531', null, false]], 'unknown peer: full bundle');
  a.machine.sent(T, s1[0]!.requestId, { ok: true, value: c.machine.receive(T, w.f.pid, s1[0]!.updates, null) });
  const s2 = sends(a.machine.localPush(T + 1, w.u(w.m2)).outputs);
  assert.deepEqual(s2.map((s) => [s.base, s.exact]), [[{ 'refs/heads/main': w.c1 }, true]], 'known peer: from the tips it holds');
  assert.deepEqual(s2[0]!.updates.map((u) => u.manifest.seq), [2]);
});

test('a failed send is retried after a backoff the machine asks to be woken for', async () => {
  const w = await world();
  const a = makeEnvoy('a', w.g, { config: { retryBaseMs: 4000, retryMaxMs: 60_000 } });
  a.peers.observe({ kind: 'envoy', host: 'c', envoyId: ENVOY_B, port: 1531 }, T);
  const s = sends(a.machine.localPush(T, w.u(w.m1)).outputs)[0]!;
  const failed = a.machine.sent(T, s.requestId, { ok: false, error: 'connect ECONNREFUSED' });
  assert.equal(failed.outputs.length, 0);
  assert.ok(failed.wakeAt !== null && failed.wakeAt >= T + 2000 && failed.wakeAt <= T + 4000, `wake at +${(failed.wakeAt ?? 0) - T} ms`);
  assert.equal(sends(a.machine.tick(T + 1000).outputs).length, 0, 'not before the backoff');
  assert.equal(sends(a.machine.tick(failed.wakeAt!).outputs).length, 1, 'sent again once it is due');
});

test('DR catch-up: a member with state but no repo pulls one repo per tick, and stops once it holds all', async () => {
  const w = await world();
  const pids = [w.f.pid, w.f.otherPid];
  const d = makeEnvoy('d', w.g, { member: [[w.f.pid, 'swarm-wide'], [w.f.otherPid, 'swarm-wide']], config: { tickMs: 45_000 } });
  for (const pid of pids) d.peers.observe({ kind: 'project', host: 'a', projectId: pid, handle: 'vigo-web', scope: 'swarm-wide' }, T);
  const t1 = fetches(d.machine.tick(T).outputs);
  assert.deepEqual(t1.map((f) => [f.reason, f.projectId, f.have]), [['dr', [...pids].sort()[0], {}]]);
  assert.equal(fetches(d.machine.tick(T + 1000).outputs).length, 0, 'one round per tick period');
  // The peer answers the first; the second project comes next round.
  const a = makeEnvoy('a', w.g);
  a.machine.receive(T, w.f.pid, [w.u(w.m1)], null);
  const other = await sign(w.f.otherPid, 'alice', 1, [{ ref: 'refs/heads/main', old: null, new: w.c1 }]);
  a.machine.receive(T, w.f.otherPid, [update(other, w.f.otherAliceChain)], null);
  const r1 = d.machine.fetched(T + 2000, t1[0]!.requestId, { ok: true, value: a.machine.serve(t1[0]!.projectId, t1[0]!.have) });
  assert.equal(r1.result?.accepted, true);
  const t2 = fetches(d.machine.tick(T + 45_000).outputs).filter((f) => f.reason === 'dr');
  assert.deepEqual(t2.map((f) => f.projectId), [[...pids].sort()[1]]);
  d.machine.fetched(T + 46_000, t2[0]!.requestId, { ok: true, value: a.machine.serve(t2[0]!.projectId, {}) });
  const t3 = fetches(d.machine.tick(T + 90_000).outputs);
  assert.equal(t3.filter((f) => f.reason === 'dr').length, 0, 'no DR once every held project has refs');
  assert.ok(t3.every((f) => f.reason === 'anti-entropy'));
  for (const pid of pids) assert.equal(d.store.refs(pid).size, 1);
});

test('anti-entropy: an envoy that missed two pushes pulls the head and fast-forwards; it sends back what the peer lacks', async () => {
  const w = await world();
  const a = makeEnvoy('a', w.g);
  const d = makeEnvoy('d', w.g);
  for (const m of [w.m1, w.m2, w.m3]) a.machine.receive(T, w.f.pid, [w.u(m)], null);
  d.machine.receive(T, w.f.pid, [w.u(w.m1)], null);
  const dev = await sign(w.f.pid, 'alice', 1, [{ ref: 'refs/heads/dev', old: null, new: w.x1 }], { envoy: ENVOY_B });
  d.machine.receive(T, w.f.pid, [update(dev, w.f.aliceChain)], null);
  d.peers.observe({ kind: 'project', host: 'a', projectId: w.f.pid, handle: 'vigo-web', scope: 'swarm-wide' }, T);
  const ask = fetches(d.machine.tick(T).outputs)[0]!;
  assert.deepEqual([ask.reason, ask.have], ['anti-entropy', { 'refs/heads/dev': w.x1, 'refs/heads/main': w.c1 }]);
  const served = a.machine.serve(w.f.pid, ask.have);
  assert.deepEqual(served.updates.map((u) => u.manifest.seq), [3], 'only the head of main: the bundle is built from d\'s tips');
  const got = d.machine.fetched(T + 10, ask.requestId, { ok: true, value: served });
  assert.deepEqual(got.result?.refsChanged, ['refs/heads/main']);
  assert.deepEqual(tipsOf(d.store.refs(w.f.pid)), { 'refs/heads/dev': w.x1, 'refs/heads/main': w.c3 });
  const back = sends(got.outputs);
  assert.deepEqual(back.map((s) => [s.peer, s.updates.map((u) => u.manifest.pusher)]), [['a:1531', [dev.pusher]]], 'dev goes back to a');
});

test('a deleted branch is not resurrected by replaying the manifest that created it', async () => {
  const w = await world();
  const b = makeEnvoy('b', w.g);
  const create = await sign(w.f.pid, 'bob', 1, [{ ref: 'refs/heads/tmp', old: null, new: w.c1 }]);
  const del = await sign(w.f.pid, 'alice', 1, [{ ref: 'refs/heads/tmp', old: w.c1, new: null }], { envoy: ENVOY_B });
  b.machine.receive(T, w.f.pid, [w.u(create)], create.bundle_sha256);
  assert.equal(b.machine.receive(T, w.f.pid, [update(del, w.f.aliceChain)], del.bundle_sha256).accepted, true);
  assert.deepEqual(tipsOf(b.store.refs(w.f.pid)), {});
  for (const bundle of [create.bundle_sha256, null]) {
    const r = b.machine.receive(T, w.f.pid, [w.u(create)], bundle);
    assert.equal(r.refsChanged.length, 0, `${bundle === null ? 'relayed' : 'pushed'}: ${r.code ?? 'accepted'}`);
  }
  assert.deepEqual(tipsOf(b.store.refs(w.f.pid)), {}, 'tmp stays deleted');
});

test('an envoy that refused as a non-member is a target again once it announces holding the project', async () => {
  const w = await world();
  const mo = await sign(w.f.pid, 'bob', 1, [{ ref: 'refs/heads/main', old: null, new: w.c1 }], { scope: 'members-only' });
  const a = makeEnvoy('a', w.g);
  const late = makeEnvoy('late', w.g);
  a.peers.setCrossSubnetMembers(w.f.pid, ['late']);
  const s = sends(a.machine.localPush(T, update(mo, w.f.bobChain)).outputs)[0]!;
  a.machine.sent(T, s.requestId, { ok: true, value: late.machine.receive(T, s.projectId, s.updates, null) });
  const meta = { projectId: w.f.pid, scope: 'members-only' as const, member: true };
  assert.deepEqual(a.machine.targets(meta, T).map((p) => p.key), []);
  // A user on `late` joins, its DR pulls the repo, and it announces it.
  a.peers.observe({ kind: 'project', host: 'late', projectId: w.f.pid, handle: 'vigo-web', scope: 'members-only' }, T + 1000);
  assert.deepEqual(a.machine.targets(meta, T + 1000).map((p) => p.key), ['late:1531']);
});

test('a spoofed peer that never answers is retried with backoff, then forgotten once it has left the table', async () => {
  const w = await world();
  const a = makeEnvoy('a', w.g, { ttlMs: 90_000, config: { tickMs: 45_000 } });
  a.peers.observe({ kind: 'envoy', host: 'ghost', envoyId: ENVOY_B, port: 1531 }, T);
  let t = T;
  let step = a.machine.localPush(t, w.u(w.m1));
  let attempts = 0;
  while (t < T + 30 * 60_000) {
    for (const s of sends(step.outputs)) {
      attempts++;
      a.machine.sent(t, s.requestId, { ok: false, error: 'connect ETIMEDOUT' });
    }
    t = Math.max(t + 1000, step.wakeAt ?? t + 45_000);
    step = a.machine.tick(t);
  }
  assert.ok(attempts >= 8 && attempts <= 12, `${attempts} attempts`);
  assert.equal(a.machine.trackedPeers, 0, 'no state is kept for it');
});

test("a peer's reported tips: pull at once what it has and we lack, send what it lacks of ours", async () => {
  const w = await world();
  const a = makeEnvoy('a', w.g);
  const b = makeEnvoy('b', w.g);
  for (const m of [w.m1, w.m2]) a.machine.receive(T, w.f.pid, [w.u(m)], null);
  const dev = await sign(w.f.pid, 'alice', 1, [{ ref: 'refs/heads/dev', old: null, new: w.x1 }], { envoy: ENVOY_B });
  b.machine.receive(T, w.f.pid, [w.u(w.m1)], null);
  b.machine.receive(T, w.f.pid, [update(dev, w.f.aliceChain)], null);
  a.peers.observe({ kind: 'project', host: 'b', projectId: w.f.pid, handle: 'vigo-web', scope: 'swarm-wide' }, T);
  const step = a.machine.peerTips(T, w.f.pid, 'b:1531', tipsOf(b.store.refs(w.f.pid)));
  assert.deepEqual(fetches(step.outputs).map((f) => [f.peer, f.reason]), [['b:1531', 'anti-entropy']], 'b has dev, which a lacks');
  const s = sends(step.outputs);
  assert.deepEqual(s.map((x) => [x.peer, x.base, x.updates.map((u) => u.manifest.seq)]), [['b:1531', { 'refs/heads/dev': w.x1, 'refs/heads/main': w.c1 }, [2]]], 'b lacks main@c2: incremental from its tips');
  assert.equal(s[0]!.exact, true, "b holds main's old tip: the push's own bundle fits, whatever else b holds");
  const unknown = a.machine.peerTips(T, w.f.otherPid, 'b:1531', {});
  assert.deepEqual(unknown.outputs, [], 'tips for a project this envoy does not hold ask for nothing');
});

test('precheck refuses from the headers alone what receive would refuse, before any bundle is read', async () => {
  const w = await world();
  const mo = await sign(w.f.pid, 'bob', 1, [{ ref: 'refs/heads/main', old: null, new: w.c1 }], { scope: 'members-only' });
  const b = makeEnvoy('b', w.g);
  assert.deepEqual(b.machine.precheck(T, w.f.pid, [update(mo, w.f.bobChain)], true), { ok: false, code: 'E_NOT_MEMBER', message: `project ${w.f.pid} is members-only and no user of this envoy holds it` });
  assert.equal(b.machine.precheck(T, w.f.pid, [w.u(w.m1)], true).ok, true);
  b.machine.receive(T, w.f.pid, [w.u(w.m1)], w.m1.bundle_sha256);
  const replay = b.machine.precheck(T, w.f.pid, [w.u(w.m1)], true);
  assert.equal(replay.ok ? 'ok' : replay.code, 'E_MANIFEST_REPLAY');
  const forged = b.machine.precheck(T, w.f.pid, [update({ ...w.m2, seq: 9 }, w.f.bobChain)], false);
  assert.equal(forged.ok ? 'ok' : forged.code, 'E_MANIFEST_SIGNATURE', 'a forged update refuses a relayed call too');
  assert.equal(b.machine.precheck(T, w.f.pid, [w.u(w.m1), w.u(w.m2)], false).ok, true, 'relayed: a known head among new ones is fine');
});

test('a manifest with any one field altered never verifies and never throws (seeded fuzz)', async () => {
  const w = await world();
  const rng = seededRng(4096);
  const good = w.m2 as unknown as Record<string, unknown>;
  const values: unknown[] = [null, 0, -1, 1.5, 2 ** 60, '', 'x', [], {}, true, w.c3, w.f.pid, 'members-only', [{ ref: 'refs/heads/main', old: null, new: w.c3 }]];
  for (let i = 0; i < 400; i++) {
    const keys = Object.keys(good);
    const k = keys[rng.int(keys.length)]!;
    const v = values[rng.int(values.length)];
    if (JSON.stringify(good[k]) === JSON.stringify(v)) continue;
    const bad = { ...good, [k]: v };
    const r = verifyManifest(bad, w.f.bobChain, { projectId: w.f.pid, now: NOW, bundleSha256: null });
    assert.equal(r.ok, false, `${k} = ${JSON.stringify(v)} verified`);
  }
});

test('a leave of every member an envoy showed stops fan-out to it; an envoy with a member left, or none known, still gets it', async () => {
  const w = await world();
  const mo = (seq: number, old: string | null, nu: string) => sign(w.f.pid, 'alice', seq, [{ ref: 'refs/heads/main', old, new: nu }], { scope: 'members-only' });
  const a = makeEnvoy('a', w.g, { member: [[w.f.pid, 'members-only']] });
  const ids: Record<string, string> = { b: ENVOY_B, c: ENVOY_A, d: '5d2e1a0b-3c5d-4e2a-8b7f-0f6b3a529d1c' };
  for (const [host, envoyId] of Object.entries(ids)) {
    a.peers.observe({ kind: 'project', host, projectId: w.f.pid, handle: 'vigo-web', scope: 'members-only' }, T);
    a.peers.observe({ kind: 'envoy', host, envoyId, port: 1531 }, T);
  }
  // b fetched with bob's chain, c with bob's and alice's; nothing is known of d's members
  a.machine.memberPresented(w.f.pid, ids.b!, pk('bob'));
  a.machine.memberPresented(w.f.pid, ids.c!, pk('bob'));
  a.machine.memberPresented(w.f.pid, ids.c!, pk('alice'));
  const left = new Set<string>();
  a.machine.leftSubjects = (pid) => (pid === w.f.pid ? left : new Set());
  const first = sends(a.machine.localPush(T, update(await mo(1, null, w.c1), w.f.aliceChain)).outputs);
  assert.deepEqual(first.map((s) => s.peer).sort(), ['b:1531', 'c:1531', 'd:1531'], 'before the leave every holder is sent to');
  for (const s of first) a.machine.sent(T, s.requestId, { ok: true, value: { accepted: true, refsChanged: ['refs/heads/main'], skipped: [], tips: { 'refs/heads/main': w.c1 } } });
  left.add(pk('bob')); // bob's LEAVE reached a
  const after = sends(a.machine.localPush(T + 1000, update(await mo(2, w.c1, w.c2), w.f.aliceChain)).outputs);
  assert.deepEqual(after.map((s) => s.peer).sort(), ['c:1531', 'd:1531'], 'b, whose only member left, is no longer sent to');
});
