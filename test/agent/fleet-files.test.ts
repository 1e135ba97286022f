// The fleet files the agent writes from SwarmFleet: written 0644 when both files parse and
// their shas make the message's; a forged or tampered message is refused and the held files
// stand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { heldFleetSha, writeFleetFiles } from '../../src/agent/traits/fleet-files.js';
import { NO_FLEET_SHA } from '../../src/wire/checkin.js';
import { fleetSha, makeNameMap, makePeerHints, nameMapFile } from '../../src/wire/swarm-fleet.js';
import { loadSwarmFleetVectors } from '../wire/swarm-fleet-vectors.js';

const v = loadSwarmFleetVectors();
const good = { sha256: v.fleet_sha256, name_map_json: JSON.stringify(v.name_map), peer_hints_json: JSON.stringify(v.peer_hints) };

test('a good SwarmFleet is written 0644 and its sha is what the envoy then reports', () => {
  const root = mkdtempSync(join(tmpdir(), 'fleet-files-'));
  try {
    const env = { VIGO_ROOT: root };
    assert.equal(heldFleetSha(env), NO_FLEET_SHA);
    writeFleetFiles(env, good);
    assert.equal(heldFleetSha(env), v.fleet_sha256);
    assert.equal(statSync(nameMapFile(env)).mode & 0o777, 0o644);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a forged or tampered SwarmFleet is refused and the held files stand', () => {
  const root = mkdtempSync(join(tmpdir(), 'fleet-files-'));
  try {
    const env = { VIGO_ROOT: root };
    writeFleetFiles(env, good);
    const before = readFileSync(nameMapFile(env), 'utf8');
    // a name map re-pointed at another key, its own sha left as it was
    const tampered = { ...v.name_map, names: { ...v.name_map.names, alice: { status: 'ok', pubkey: 'f'.repeat(64) } } };
    assert.throws(() => writeFleetFiles(env, { ...good, name_map_json: JSON.stringify(tampered) }), /name map\.sha256: does not match/);
    // a consistent new name map, but the message's fleet sha is not of these files
    const other = makeNameMap({ mallory: { status: 'ok', pubkey: 'e'.repeat(64) } });
    assert.throws(() => writeFleetFiles(env, { ...good, name_map_json: JSON.stringify(other) }), /SwarmFleet\.sha256 is not the fleet sha/);
    assert.equal(readFileSync(nameMapFile(env), 'utf8'), before, 'the held name map stands');
    // consistent throughout: accepted
    const hints = makePeerHints({});
    writeFleetFiles(env, { sha256: fleetSha(other.sha256, hints.sha256), name_map_json: JSON.stringify(other), peer_hints_json: JSON.stringify(hints) });
    assert.notEqual(readFileSync(nameMapFile(env), 'utf8'), before);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
