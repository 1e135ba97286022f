/**
 * One way to open a SQLite database that holds state we must not lose: its directory made
 * 0700, WAL, a full fsync per commit, and a bounded wait for a lock held by another
 * connection. Used by vigosrv's database and the spanner roster.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export function openDurableSqlite(path: string, schema: string): Database.Database {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(schema);
  return db;
}
