// A database made by an older vigosrv (runs without report_bytes / truncated_bytes /
// resources_omitted / summary) opens under this one: the columns are added, old runs keep
// their rows and read as whole reports, and opening twice changes nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src/server/db.js';

const dir = mkdtempSync(join(tmpdir(), 'vigo-db-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('an older database gains the run-report columns and keeps its runs', () => {
  const path = join(dir, 'vigo.db');
  const old = new Database(path);
  old.exec(`CREATE TABLE runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL UNIQUE, envoy_id TEXT NOT NULL,
    policy_version INTEGER NOT NULL, started_at TEXT NOT NULL, duration_ms INTEGER NOT NULL,
    status TEXT NOT NULL, ok INTEGER NOT NULL, changed INTEGER NOT NULL, failed INTEGER NOT NULL,
    configcrates INTEGER NOT NULL, report TEXT NOT NULL, received_at INTEGER NOT NULL)`);
  old.prepare("INSERT INTO runs (run_id, envoy_id, policy_version, started_at, duration_ms, status, ok, changed, failed, configcrates, report, received_at) VALUES ('r-0000001', 'e1', 1, 't', 1, 'ok', 1, 0, 0, 1, '{}', 0)").run();
  old.close();
  for (let i = 0; i < 2; i++) {
    const db = openDb(path);
    const row = db.prepare('SELECT run_id, report_bytes, truncated_bytes, resources_omitted, summary FROM runs').get();
    assert.deepEqual(row, { run_id: 'r-0000001', report_bytes: null, truncated_bytes: 0, resources_omitted: 0, summary: null });
    db.close();
  }
});
