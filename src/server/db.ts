/**
 * The server's SQLite database (better-sqlite3, WAL). Everything durable lives here:
 * API tokens and enrollment tokens (SHA-256 only), envoys, runs, and the config version.
 * Run reports are committed before they are acknowledged; check-in bookkeeping (last
 * seen, fingerprint) is flushed in batches by the envoy index.
 */
import type Database from 'better-sqlite3';
import { openDurableSqlite } from '../platform/sqlite.js';

export type Db = Database.Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_tokens (
  hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('admin','viewer','compliance')),
  created_at INTEGER NOT NULL, expires_at INTEGER, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS enroll_tokens (
  hash TEXT PRIMARY KEY, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  used_at INTEGER, envoy_id TEXT);
CREATE TABLE IF NOT EXISTS envoys (
  id TEXT PRIMARY KEY, hostname TEXT NOT NULL, pubkey_sha256 TEXT NOT NULL, cert_serial TEXT NOT NULL,
  enrolled_at INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER,
  last_seen INTEGER, ip TEXT, policy_version INTEGER, fingerprint TEXT,
  last_run_status TEXT, last_run_at INTEGER, change_streak INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS runs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL UNIQUE, envoy_id TEXT NOT NULL,
  policy_version INTEGER NOT NULL, started_at TEXT NOT NULL, duration_ms INTEGER NOT NULL,
  status TEXT NOT NULL, ok INTEGER NOT NULL, changed INTEGER NOT NULL, failed INTEGER NOT NULL,
  configcrates INTEGER NOT NULL, report TEXT NOT NULL, received_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_envoy ON runs (envoy_id, seq);
`;

/**
 * Columns added after a table was first made: each is added when a database made by an
 * older vigosrv lacks it (SQLite's ADD COLUMN keeps the rows; old rows get the default).
 *   runs.report_bytes       the report's size as the envoy sent it (NULL: stored before this)
 *   runs.truncated_bytes    bytes cut from the report, on the envoy and here (0: whole)
 *   runs.resources_omitted  resources cut from the report
 *   runs.summary            JSON RunSummary (src/wire/run-report.ts); NULL before this
 */
const ADDED_COLUMNS: { table: string; column: string; decl: string }[] = [
  { table: 'runs', column: 'report_bytes', decl: 'INTEGER' },
  { table: 'runs', column: 'truncated_bytes', decl: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'runs', column: 'resources_omitted', decl: 'INTEGER NOT NULL DEFAULT 0' },
  { table: 'runs', column: 'summary', decl: 'TEXT' },
];

function addMissingColumns(db: Db): void {
  for (const c of ADDED_COLUMNS) {
    const have = (db.prepare(`PRAGMA table_info(${c.table})`).all() as { name: string }[]).some((x) => x.name === c.column);
    if (!have) db.exec(`ALTER TABLE ${c.table} ADD COLUMN ${c.column} ${c.decl}`);
  }
}

export function openDb(path: string): Db {
  const db = openDurableSqlite(path, SCHEMA);
  db.transaction(() => addMissingColumns(db))();
  return db;
}

export function getMeta(db: Db, k: string): string | null {
  const row = db.prepare('SELECT v FROM meta WHERE k = ?').get(k) as { v: string } | undefined;
  return row?.v ?? null;
}

export function setMeta(db: Db, k: string, v: string): void {
  db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v').run(k, v);
}
