// The server's traits store over a real SQLite database: traits survive a restart and the
// views are rebuilt from them; oversized, mismatched or malformed traits are refused with
// a log line naming why and leave the held ones standing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src/server/db.js';
import { FleetStore, type FleetEnvoy } from '../../src/server/swarm-fleet/store.js';
import { NO_TRAITS_SHA } from '../../src/wire/checkin.js';
import { fleetSha, parseNameMap, parsePeerHints, traitsSha, traitsText, type Traits } from '../../src/wire/swarm-fleet.js';
import { loadSwarmFleetVectors } from '../wire/swarm-fleet-vectors.js';

const v = loadSwarmFleetVectors();
const NOW = Date.parse('2026-12-02T08:00:00.000Z');
const envoys = new Map<string, FleetEnvoy>([
  ['e1', { id: 'e1', hostname: 'web-1', ip: '10.0.0.1', lastSeenMs: NOW, revoked: false }],
  ['e2', { id: 'e2', hostname: 'web-2', ip: '10.0.0.2', lastSeenMs: NOW, revoked: false }],
]);

function open(dir: string, logs: string[], maxBytes?: number): { store: FleetStore; close: () => void } {
  const db = openDb(join(dir, 'vigo.db'));
  const store = new FleetStore({ db, log: (m) => logs.push(m), view: { intervalS: 60 }, envoy: (id) => envoys.get(id), gitbackEnabled: () => true, ...(maxBytes ? { maxBytes } : {}) });
  return { store, close: () => db.close() };
}

test('traits are stored before they are acknowledged, and survive a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-store-'));
  try {
    const logs: string[] = [];
    const t = v.traits;
    let s = open(dir, logs);
    assert.equal(s.store.heldSha('e1'), NO_TRAITS_SHA);
    assert.deepEqual(s.store.accept('e1', 'web-1', t.sha256, t.text, NOW), { ok: true });
    assert.deepEqual(s.store.accept('e2', 'web-2', t.sha256, t.text, NOW), { ok: true });
    const before = s.store.gitbackView(NOW);
    const fleet = s.store.fleetFor('e1');
    s.close();
    s = open(dir, logs);
    assert.equal(s.store.heldSha('e1'), t.sha256);
    assert.deepEqual(s.store.gitbackView(NOW), before, 'the view rebuilt from the stored traits');
    assert.equal(s.store.gitbackView(NOW).projects[0]!.hosts.length, 2);
    const f = s.store.fleetFor('e1');
    assert.deepEqual(f, fleet);
    const nm = parseNameMap(f.name_map_json);
    const h = parsePeerHints(f.peer_hints_json);
    assert.equal(f.sha256, fleetSha(nm.sha256, h.sha256));
    assert.deepEqual(nm.names.alice, { status: 'ok', pubkey: v.traits.value.puddle.users[0]!.pubkey });
    assert.deepEqual(Object.values(h.projects)[0]!.map((x) => x.envoy_id), ['e2'], 'hints for e1 name e2, never e1');
    s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('oversized, mismatched and malformed traits are refused with a log line; the held ones stand', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleet-store-'));
  try {
    const logs: string[] = [];
    const s = open(dir, logs, 2048);
    const t = v.traits;
    assert.deepEqual(s.store.accept('e1', 'web-1', t.sha256, t.text, NOW), { ok: true });
    const big: Traits = { ...t.value, cut: ['x'.repeat(190), 'y'.repeat(190), 'z'.repeat(190), 'w'.repeat(190), 'v'.repeat(190), 'u'.repeat(190)] };
    const bigText = traitsText(big);
    const r1 = s.store.accept('e1', 'web-1', traitsSha(bigText), bigText, NOW);
    assert.equal(r1.ok, false);
    assert.match(logs.at(-1)!, /envoy web-1 \(e1\): traits refused: \d+ bytes, over the 2048-byte limit per envoy/);
    const r2 = s.store.accept('e1', 'web-1', 'a'.repeat(64), t.text, NOW);
    assert.equal(r2.ok, false);
    assert.match(logs.at(-1)!, /traits_sha256 is not the sha256 of traits_json/);
    const bad = t.text.replace(/"v":1}$/, '"v":2}');
    const r3 = s.store.accept('e1', 'web-1', traitsSha(bad), bad, NOW);
    assert.equal(r3.ok, false);
    assert.match(logs.at(-1)!, /traits\.v: version 2 is not understood/);
    assert.equal(s.store.heldSha('e1'), t.sha256, 'the held traits stand');
    s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
