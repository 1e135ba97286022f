// The roster on disk (issue 13 item 2): a bolt's roster survives a restart, and a row
// edited in the database is refused when the bolt loads it, not trusted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ManualClock, seededRng } from '../../src/platform/clock.js';
import { emptyRoster, liveBolts, memoryRosterStore, mergeRows, openSqliteRosterStore, RosterGossip, rosterDigest } from '../../src/spanner/index.js';
import { admit, consume, ctxOf, pk, revoke, T0 } from './fixtures.js';

const ctx = ctxOf('bolt-a');

test('a bolt restarted on its SQLite roster holds the same roster, digest and consumed invites', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigo-roster-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'state', 'roster.db');
  const clock = new ManualClock((T0 + 100) * 1000);
  const store = openSqliteRosterStore(path);
  const g = new RosterGossip({ self: pk('bolt-a'), ctx, clock, rng: seededRng(1), store });
  g.addRows([await admit('bolt-a', 'bolt-a', T0), await admit('bolt-a', 'bolt-b', T0 + 10), await consume('bolt-a', 'inv-b', T0 + 10)]);
  g.addRows([await revoke('bolt-a', 'bolt-b', T0 + 50)]);
  const digest = rosterDigest(g.roster);
  store.close();
  assert.equal(statSync(join(dir, 'state')).mode & 0o777, 0o700);

  const db = new Database(path, { readonly: true });
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal((db.prepare('SELECT count(*) AS n FROM spanner_bolts').get() as { n: number }).n, 4);
  db.close();

  const reopened = openSqliteRosterStore(path);
  t.after(() => reopened.close());
  const again = new RosterGossip({ self: pk('bolt-a'), ctx, clock, rng: seededRng(2), store: reopened });
  assert.equal(rosterDigest(again.roster), digest);
  assert.deepEqual(liveBolts(again.roster, T0 + 100).map((b) => b.bolt_id), ['bolt-a']);
  assert.equal(again.roster.revoked.get(pk('bolt-b'))?.revoked_at, T0 + 50);
  assert.equal(again.roster.consumed.size, 1);
  // Adding what is already stored stores nothing twice.
  reopened.add(reopened.rows());
  assert.equal(reopened.rows().length, 4);
});

test('a row edited in the database is refused on load, and the rest of the roster stands', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vigo-roster-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'roster.db');
  const store = openSqliteRosterStore(path);
  store.add([await admit('bolt-a', 'bolt-a', T0), await admit('bolt-a', 'bolt-b', T0 + 10)]);
  store.close();
  // Someone with the file widens bolt-b's patterns to every host.
  const db = new Database(path);
  const row = db.prepare("SELECT id, body FROM spanner_bolts WHERE body LIKE '%bolt-b.example.net%'").get() as { id: string; body: string };
  db.prepare('UPDATE spanner_bolts SET body = ? WHERE id = ?').run(row.body.replace('"*.bolt-b.example.net"', '"*"'), row.id);
  db.close();

  const reopened = openSqliteRosterStore(path);
  t.after(() => reopened.close());
  const r = mergeRows(emptyRoster(), reopened.rows(), ctx);
  assert.deepEqual(r.refused.map((x) => x.code), ['E_BAD_SIGNATURE']);
  assert.deepEqual(liveBolts(r.state, T0 + 20).map((b) => b.bolt_id), ['bolt-a']);
});

test('the memory store has the same interface: rows oldest first, each once', async () => {
  const rows = [await admit('bolt-a', 'bolt-b', T0 + 10), await admit('bolt-a', 'bolt-a', T0)];
  const m = memoryRosterStore(rows);
  m.add(rows);
  assert.deepEqual(m.rows().map((r) => (r as { admitted_at: number }).admitted_at), [T0, T0 + 10]);
});
