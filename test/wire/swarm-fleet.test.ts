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
