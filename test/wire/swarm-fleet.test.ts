// The swarm fleet contract, frozen by test/vectors/swarm-fleet.json: every shape parses back
// to itself, the shas are what the vectors say, every refusal names its field, and the
// generator still produces the checked-in file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkoutRoot } from '../helpers/program.js';
import { fleetSha, parseGitbackFleetView, parseNameMap, parsePeerHints, parsePuddleFleetView, parseTraits, traitsSha, traitsText } from '../../src/wire/swarm-fleet.js';
import { buildSwarmFleetVectors, loadSwarmFleetVectors } from './swarm-fleet-vectors.js';

const v = loadSwarmFleetVectors();
const parsers = { traits: parseTraits, name_map: parseNameMap, peer_hints: parsePeerHints, gitback_fleet: parseGitbackFleetView, puddle_fleet: parsePuddleFleetView } as const;

test('traits: the text is the canonical JSON, its sha the one sent, and it parses back to the value', () => {
  assert.equal(traitsText(v.traits.value), v.traits.text);
  assert.equal(traitsSha(v.traits.text), v.traits.sha256);
  assert.deepEqual(parseTraits(v.traits.text), v.traits.value);
  assert.deepEqual(parseTraits(v.traits.value), v.traits.value);
});

test('name map, peer hints and views parse back to themselves, shas checked', () => {
  assert.deepEqual(parseNameMap(JSON.stringify(v.name_map)), v.name_map);
  assert.deepEqual(parsePeerHints(JSON.stringify(v.peer_hints)), v.peer_hints);
  assert.equal(fleetSha(v.name_map.sha256, v.peer_hints.sha256), v.fleet_sha256);
  assert.deepEqual(parseGitbackFleetView(JSON.stringify(v.gitback_fleet)), v.gitback_fleet);
  assert.deepEqual(parsePuddleFleetView(JSON.stringify(v.puddle_fleet)), v.puddle_fleet);
});

test('every invalid input is refused, naming the field', () => {
  assert.ok(v.invalid.length >= 10);
  for (const c of v.invalid) {
    assert.throws(() => parsers[c.parser](JSON.stringify(c.input)), (e: Error) => e.message.includes(c.error), `${c.name}: expected an error containing ${c.error}`);
  }
});

test('oversized traits and malformed JSON are refused', () => {
  assert.throws(() => parseTraits('{"v":1,'), /traits/);
  assert.throws(() => parseTraits(`{"v":1,"cut":["${'x'.repeat(300 * 1024)}"]}`), /larger than/);
});

test('the generator reproduces the checked-in vectors', async () => {
  assert.deepEqual(JSON.parse(JSON.stringify(await buildSwarmFleetVectors())), v);
});

test('wire-formats.md §22 shows the vectors', () => {
  const wire = readFileSync(join(checkoutRoot, 'docs', 'wire-formats.md'), 'utf8');
  const at = wire.indexOf('## 22. ');
  assert.ok(at > 0, 'wire-formats.md has §22');
  const section = wire.slice(at);
  assert.ok(section.includes(v.traits.sha256), 'the traits sha');
  assert.ok(section.includes(v.fleet_sha256), 'the fleet sha');
  assert.ok(section.includes(v.name_map.sha256), 'the name map sha');
});

test('check-in compatibility: peers from before fields 4-6, Ack 3 and ServerMessage 10 ignore them', async () => {
  const { default: protobuf } = await import('protobufjs');
  const { checkinDescriptor } = await import('../../src/wire/checkin.js');
  type V1 = Record<string, { oneofs?: Record<string, { oneof: string[] }>; fields: Record<string, unknown> }>;
  const types = (old: boolean) => {
    const d = JSON.parse(JSON.stringify(checkinDescriptor)) as { nested: { vigo: { nested: { checkin: { nested: { v1: { nested: V1 } } } } } } };
    const v1 = d.nested.vigo.nested.checkin.nested.v1.nested;
    if (old) {
      for (const f of ['traits_sha256', 'traits_json', 'fleet_sha256']) delete v1.CheckIn!.fields[f];
      delete v1.Ack!.fields.traits_sha256;
      delete v1.ServerMessage!.fields.fleet;
      v1.ServerMessage!.oneofs!.kind!.oneof = v1.ServerMessage!.oneofs!.kind!.oneof.filter((k) => k !== 'fleet');
      delete v1.SwarmFleet;
    }
    const root = protobuf.Root.fromJSON(d as unknown as protobuf.INamespace);
    return { agent: root.lookupType('vigo.checkin.v1.AgentMessage'), server: root.lookupType('vigo.checkin.v1.ServerMessage') };
  };
  const now = types(false);
  const old = types(true);
  const fleet = { sha256: v.fleet_sha256, name_map_json: JSON.stringify(v.name_map), peer_hints_json: JSON.stringify(v.peer_hints) };
  const bytes = now.server.encode(now.server.fromObject({ seq: 0, fleet })).finish();
  const back = now.server.toObject(now.server.decode(bytes), { oneofs: true }) as { kind?: string; fleet?: unknown };
  assert.equal(back.kind, 'fleet');
  assert.deepEqual(back.fleet, fleet);
  const o = old.server.toObject(old.server.decode(bytes), { defaults: true, oneofs: true }) as { kind?: string; seq: number };
  assert.equal(o.kind, undefined, 'an older agent sees no kind');
  assert.equal(o.seq, 0, 'and seq 0 matches none of its requests');
  const ci = now.agent.encode(now.agent.fromObject({ seq: 7, checkin: { policy_version: 3, fingerprint: 'fp', traits_sha256: v.traits.sha256, traits_json: v.traits.text, fleet_sha256: v.fleet_sha256 } })).finish();
  const oc = old.agent.toObject(old.agent.decode(ci), { defaults: true, oneofs: true }) as { checkin: Record<string, unknown> };
  assert.deepEqual(oc.checkin, { policy_version: 3, fingerprint: 'fp', trust_sha256: '' }, 'an older server reads the check-in it knows');
  const ack = old.server.encode(old.server.fromObject({ seq: 7, ack: { policy_version: 3, interval_s: 60 } })).finish();
  const na = now.server.toObject(now.server.decode(ack), { defaults: true, oneofs: true }) as { ack: { traits_sha256: string } };
  assert.equal(na.ack.traits_sha256, '', "an older server's Ack carries no traits sha: the agent then sends only the sha");
});
