// The server's swarm views as pure functions of stored traits and now: divergent refs,
// stale hosts, contested and forged name claims, peer hints (never the envoy itself, never
// an envoy without the gitback gate). No sockets, no database.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, mintNameClaim, projectId, seedSigner, toHex, publicKeyFromSeed, sha256Hex } from '../../src/trust/index.js';
import { buildGitbackView, buildNameMap, buildPeerHints, buildPuddleView, divergentRefs, hostState, puddleHealth, type StoredTraits } from '../../src/server/swarm-fleet/views.js';
import { parseGitbackFleetView, parseNameMap, parsePeerHints, parsePuddleFleetView, type GitbackProjectTrait, type PuddleUserTrait, type Traits } from '../../src/wire/swarm-fleet.js';

const seed = (n: string) => fromHex(sha256Hex(`fleet-views/${n}`));
const pk = (n: string) => toHex(publicKeyFromSeed(seed(n)));
const NOW = Date.parse('2026-12-02T08:00:00.000Z');
const T = Math.floor(NOW / 1000) - 3600;
const opts = { intervalS: 60, staleAfterS: 600 };
const tip = (c: string) => c.repeat(40);

async function user(name: string, claim: string | null, extra: Partial<PuddleUserTrait> = {}): Promise<PuddleUserTrait> {
  return { user: name, uid: 1000, pubkey: pk(name), initialized: true, unlocked: false, pair_pending: false, name_claim: claim === null ? null : await mintNameClaim(seedSigner(seed(name)), claim, T), ...extra };
}
function project(refs: Record<string, string>, extra: Partial<GitbackProjectTrait> = {}): GitbackProjectTrait {
  return { project_id: projectId(fromHex(pk('alice')), 'web'), handle: 'web', founder: pk('alice'), scope: 'swarm-wide', members: [pk('alice')], bare_repo: true, bare_repo_bytes: 100, refs, revokes: 0, leaves: 0, tombstoned: false, ...extra };
}
function envoy(n: number, traits: Partial<Traits>, o: Partial<StoredTraits> = {}): StoredTraits {
  return { envoy_id: `00000000-0000-4000-8000-00000000000${n}`, hostname: `web-${n}`, addr: `10.0.0.${n}`, gitback_enabled: true, last_seen_ms: NOW - 10_000, traits: { v: 1, puddle: { users: [] }, gitback: { projects: [] }, ...traits }, ...o };
}

test('host states: reporting within two intervals, stale past the window, neither between', () => {
  assert.deepEqual(hostState(NOW - 60_000, NOW, opts), { reporting: true, stale: false });
  assert.deepEqual(hostState(NOW - 300_000, NOW, opts), { reporting: false, stale: false });
  assert.deepEqual(hostState(NOW - 601_000, NOW, opts), { reporting: false, stale: true });
});

test('divergent refs: a different tip or a ref some hosts lack; one host never diverges', () => {
  assert.deepEqual(divergentRefs([{ refs: { 'refs/heads/main': tip('a') } }]), []);
  assert.deepEqual(divergentRefs([{ refs: { 'refs/heads/main': tip('a') } }, { refs: { 'refs/heads/main': tip('a') } }]), []);
  assert.deepEqual(divergentRefs([{ refs: { 'refs/heads/main': tip('a'), 'refs/heads/x': tip('c') } }, { refs: { 'refs/heads/main': tip('b') } }]), ['refs/heads/main', 'refs/heads/x']);
});

test('gitback view: hosts with their tips, divergence among non-stale hosts only, envelopes are the most any host holds', async () => {
  const alice = await user('alice', 'alice');
  const stored = [
    envoy(1, { puddle: { users: [alice] }, gitback: { projects: [project({ 'refs/heads/main': tip('a') }, { revokes: 2 })] } }),
    envoy(2, { gitback: { projects: [project({ 'refs/heads/main': tip('a') }, { leaves: 1 })] } }),
    envoy(3, { gitback: { projects: [project({ 'refs/heads/main': tip('b') })] } }, { last_seen_ms: NOW - 3_600_000 }),
  ];
  const names = buildNameMap(stored);
  const v = parseGitbackFleetView(JSON.stringify(buildGitbackView(stored, names, NOW, opts)));
  assert.equal(v.projects.length, 1);
  const p = v.projects[0]!;
  assert.equal(p.founder_name, 'alice');
  assert.deepEqual(p.hosts.map((h) => [h.hostname, h.reporting, h.stale]), [['web-1', true, false], ['web-2', true, false], ['web-3', false, true]]);
  assert.deepEqual(p.divergent_refs, [], 'the stale host is old news');
  assert.equal(p.revokes, 2);
  assert.equal(p.leaves, 1);
  // the stale host comes back with its tip: now it diverges
  stored[2]!.last_seen_ms = NOW - 1000;
  assert.deepEqual(buildGitbackView(stored, names, NOW, opts).projects[0]!.divergent_refs, ['refs/heads/main']);
});

test('replicas held for no local user: filed under the project another envoy names, hinted, diverging; unnamed ones listed apart', () => {
  const web = project({ 'refs/heads/main': tip('a') });
  const replica = (refs: Record<string, string>, id = web.project_id) => ({ project_id: id, bare_repo: true, bare_repo_bytes: 50, refs, revokes: 3, leaves: 0, tombstoned: false });
  const lone = 'e'.repeat(64);
  const stored = [
    envoy(1, { gitback: { projects: [web] } }),
    envoy(3, { gitback: { projects: [], replicas: [replica({ 'refs/heads/main': tip('a') }), replica({}, lone)] } }),
    envoy(2, { gitback: { projects: [], replicas: [replica({ 'refs/heads/main': tip('b') })] } }),
  ];
  const v = parseGitbackFleetView(JSON.stringify(buildGitbackView(stored, buildNameMap(stored), NOW, opts)));
  assert.equal(v.projects.length, 1);
  const p = v.projects[0]!;
  assert.deepEqual(p.hosts.map((h) => h.hostname), ['web-1', 'web-2', 'web-3'], 'every host holding it, in host order');
  assert.deepEqual(p.divergent_refs, ['refs/heads/main'], "web-2's replica is behind");
  assert.equal(p.revokes, 3, 'a replica holding more envelopes counts');
  assert.deepEqual(v.unheaded?.map((u) => [u.project_id, u.hosts.map((h) => [h.hostname, h.refs])]), [[lone, [['web-3', {}]]]], 'a replica no envoy names');
  // the replica holders are hinted to the founder's envoy, and it to them
  assert.deepEqual(Object.keys(buildPeerHints(stored, stored[0]!.envoy_id).projects), [web.project_id]);
  assert.deepEqual(buildPeerHints(stored, stored[0]!.envoy_id).projects[web.project_id]!.map((h) => h.hostname).sort(), ['web-2', 'web-3']);
  assert.deepEqual(buildPeerHints(stored, stored[1]!.envoy_id).projects[web.project_id]!.map((h) => h.hostname).sort(), ['web-1', 'web-2']);
  // no replicas: the view has no unheaded list
  assert.equal('unheaded' in buildGitbackView(stored.slice(0, 1), buildNameMap([]), NOW, opts), false);
});

test('name map: two keys claiming a name contest it, and it never resolves; a forged claim is ignored and counted', async () => {
  const bob = await user('bob', 'ops');
  const carol = await user('carol', 'ops');
  const alice = await user('alice', 'alice');
  const forged = await user('mallory', null);
  const aliceClaim = alice.name_claim!;
  // mallory reports a claim of "boss" in her own key's name with a signature that is not hers
  forged.name_claim = { ...aliceClaim, name: 'boss', pubkey: pk('mallory') };
  // and a real claim of alice's, reported as mallory's user: not mallory's puddle
  const stolen = await user('mallory', null, { user: 'm2' });
  stolen.name_claim = aliceClaim;
  const stored = [envoy(1, { puddle: { users: [bob, alice] } }), envoy(2, { puddle: { users: [carol, forged, stolen] } })];
  const r = buildNameMap(stored);
  const m = parseNameMap(JSON.stringify(r.map));
  assert.deepEqual(m.names.ops, { status: 'contested', pubkeys: [pk('bob'), pk('carol')].sort() });
  assert.deepEqual(m.names.alice, { status: 'ok', pubkey: pk('alice') });
  assert.equal(m.names.boss, undefined, 'the forged claim does not resolve');
  assert.equal(r.invalid, 2);
  const pv = parsePuddleFleetView(JSON.stringify(buildPuddleView(stored, r, NOW, opts)));
  const byKey = new Map(pv.puddles.map((p) => [p.pubkey, p]));
  assert.equal(byKey.get(pk('bob'))!.name, '(contested)');
  assert.equal(byKey.get(pk('alice'))!.name, 'alice');
  assert.equal(byKey.get(pk('mallory'))!.name, '(unnamed)');
});

test('the newest valid claim of a key is its claim', async () => {
  const old = await user('alice', 'old-name');
  const cur = { ...old, name_claim: await mintNameClaim(seedSigner(seed('alice')), 'alice', T + 10) };
  const r = buildNameMap([envoy(1, { puddle: { users: [old] } }), envoy(2, { puddle: { users: [cur] } })]);
  assert.deepEqual(Object.keys(r.map.names), ['alice']);
});

test('puddle health: ok, degraded (a stale envoy or a pending pair), stale (all stale)', async () => {
  assert.equal(puddleHealth([{ stale: false, pair_pending: false }]), 'ok');
  assert.equal(puddleHealth([{ stale: false, pair_pending: true }]), 'degraded');
  assert.equal(puddleHealth([{ stale: false, pair_pending: false }, { stale: true, pair_pending: false }]), 'degraded');
  assert.equal(puddleHealth([{ stale: true, pair_pending: false }]), 'stale');
  const alice = await user('alice', null, { unlocked: true });
  const r = buildNameMap([]);
  const v = buildPuddleView([envoy(1, { puddle: { users: [alice] } }), envoy(2, { puddle: { users: [{ ...alice, user: 'al2' }] } }, { last_seen_ms: NOW - 3_600_000 })], r, NOW, opts);
  assert.equal(v.puddles[0]!.health, 'degraded');
  assert.deepEqual(v.puddles[0]!.users, ['al2', 'alice']);
  assert.deepEqual(v.puddles[0]!.envoys.map((e) => [e.hostname, e.unlocked, e.stale]), [['web-1', true, false], ['web-2', true, true]]);
});

test('peer hints: the other gitback-enabled holders of my projects, never me, never an envoy without the gate', () => {
  const p = project({ 'refs/heads/main': tip('a') });
  const other = { ...project({}), project_id: 'f'.repeat(64), handle: 'other' };
  const stored = [
    envoy(1, { gitback: { projects: [p] } }),
    envoy(2, { gitback: { projects: [p] } }),
    envoy(3, { gitback: { projects: [p] } }, { gitback_enabled: false }),
    envoy(4, { gitback: { projects: [other] } }),
    envoy(5, { gitback: { projects: [p] } }, { addr: null }),
    envoy(6, { gitback: { projects: [{ ...p, tombstoned: true }] } }),
  ];
  const h = parsePeerHints(JSON.stringify(buildPeerHints(stored, stored[0]!.envoy_id)));
  assert.deepEqual(Object.keys(h.projects), [p.project_id]);
  assert.deepEqual(h.projects[p.project_id]!.map((x) => x.hostname), ['web-2']);
  assert.equal(h.projects[p.project_id]!.some((x) => x.envoy_id === stored[0]!.envoy_id), false);
  // an envoy without the gate gets no hints at all
  assert.deepEqual(buildPeerHints(stored, stored[2]!.envoy_id).projects, {});
  // hints change when a holder's address does: the sha moves
  const before = buildPeerHints(stored, stored[0]!.envoy_id).sha256;
  stored[1]!.addr = '10.0.1.2';
  assert.notEqual(buildPeerHints(stored, stored[0]!.envoy_id).sha256, before);
});
