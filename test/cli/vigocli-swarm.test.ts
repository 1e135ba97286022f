// `vigocli swarm …`'s data functions over the contract's vector views (test/vectors/swarm-fleet.json):
// status counts, picking a project by id / prefix / handle and refusing a shared handle,
// the friendly URL only for an uncontested founder name, refs and per-host tips, members
// named from the map, puddles by name or key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findProject, findPuddle, gitbackStatus, memberRows, projectDetail } from '../../src/cli/vigocli/swarm/fleet.js';
import { parseGitbackFleetView, parseNameMap, parsePuddleFleetView, type GitbackFleetView } from '../../src/wire/swarm-fleet.js';
import { loadSwarmFleetVectors } from '../wire/swarm-fleet-vectors.js';
import { fromHex, projectId } from '../../src/trust/index.js';

const v = loadSwarmFleetVectors();
const view = parseGitbackFleetView(v.gitback_fleet);
const names = parseNameMap(v.name_map);
const web = view.projects[0];
assert.ok(web);

/** the vector view plus a second project with the same handle under another founder (so another id) */
const otherFounder = '14a53b9ae5c1048c089de43a94987255291189e4ccea47741c6ab5e3204aa2a7';
const otherId = projectId(fromHex(otherFounder), 'vigo-web');
function twoVigoWebs(): GitbackFleetView {
  const other = { ...web!, project_id: otherId, founder: otherFounder, founder_name: null, divergent_refs: [] };
  return parseGitbackFleetView({ ...view, projects: [web, other] });
}

test('status: projects, hosts, participants, envelopes and divergent refs', () => {
  const s = gitbackStatus(view);
  assert.equal(s.projects, 1);
  assert.equal(s.hosts, 2);
  assert.equal(s.participants, 2, 'the founder and the one other member');
  assert.equal(s.revokes, 1);
  assert.deepEqual(s.divergent, [{ project_id: web!.project_id, handle: 'vigo-web', refs: ['refs/heads/main'] }]);
});

test('a project by full id, id prefix or handle; unknown says how to list', () => {
  assert.equal(findProject(view, web!.project_id).handle, 'vigo-web');
  assert.equal(findProject(view, web!.project_id.slice(0, 8)).handle, 'vigo-web');
  assert.equal(findProject(view, 'vigo-web').project_id, web!.project_id);
  assert.throws(() => findProject(view, 'nope'), (e: Error & { hint?: string }) => /no envoy reports a gitback project 'nope'/.test(e.message) && /swarm gitback list/.test(e.hint ?? ''));
});

test('a handle several projects share is refused, listing each', () => {
  const two = twoVigoWebs();
  assert.throws(() => findProject(two, 'vigo-web'), (e: Error) => e.message.includes("'vigo-web' matches 2 projects") && e.message.includes(web!.project_id) && e.message.includes(otherId));
  assert.notEqual(otherId.slice(0, 6), web!.project_id.slice(0, 6));
  assert.equal(findProject(two, otherId.slice(0, 6)).project_id, otherId, 'an id prefix still picks one');
});

test('show: the friendly URL only when the founder has an uncontested name; refs with each host\'s tip', () => {
  const d = projectDetail(web!);
  assert.equal(d.friendly_url, 'gitback://alice/vigo-web');
  assert.equal(d.url, `gitback://${web!.project_id}/vigo-web`);
  assert.equal(d.refs.length, 1);
  const main = d.refs[0]!;
  assert.equal(main.ref, 'refs/heads/main');
  assert.equal(main.divergent, true);
  assert.deepEqual(Object.values(main.hosts).sort(), ['1f0c3a6d2b9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a', '2a1b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d']);
  assert.equal(projectDetail({ ...web!, founder_name: null }).friendly_url, null);
  assert.equal(projectDetail({ ...web!, founder_name: '(contested)' }).friendly_url, null);
});

test('members: founder first, names from the map (a contested name names no one)', () => {
  const rows = memberRows(view, names, 'vigo-web');
  assert.deepEqual(rows.map((r) => [r.name, r.founder]), [['alice', true], [null, false]]);
});

test('puddles by uncontested name, full key, ed25519: prefix', () => {
  const pv = parsePuddleFleetView(v.puddle_fleet);
  const first = pv.puddles[0]!;
  assert.equal(findPuddle(pv, `ed25519:${first.pubkey.slice(0, 10)}`).pubkey, first.pubkey);
  assert.equal(findPuddle(pv, first.pubkey).pubkey, first.pubkey);
  const named = pv.puddles.find((p) => !p.name.startsWith('('));
  if (named) assert.equal(findPuddle(pv, named.name).pubkey, named.pubkey);
  assert.throws(() => findPuddle(pv, '(contested)'), /no envoy reports a puddle/);
});
