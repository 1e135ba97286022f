/**
 * Where a bolt keeps its held roster rows: SQLite on a real bolt (one table, WAL, every
 * add one transaction committed with synchronous=FULL before it returns), or memory for
 * the simulator. The set is grow-only, like the CRDT: rows are added, never changed or
 * removed. Rows are stored as their canonical JSON and re-verified when loaded (a row
 * edited on disk fails its signature and is refused by the merge, not trusted).
 */
import { openDurableSqlite } from '../platform/sqlite.js';
import { canonicalize, type Hex } from '../trust/index.js';
import { parseRosterRow, rowId, rowSigner, rowTime, RosterError, type RosterRow } from '../wire/spanner-roster.js';

export interface RosterStore {
  /** every row stored, oldest first (by time, then id) */
  rows(): RosterRow[];
  /** stores rows not yet stored (by row id), all or none; `ids`: their rowId()s when the caller has them */
  add(rows: readonly RosterRow[], ids?: readonly Hex[]): void;
  close(): void;
}

export function memoryRosterStore(initial: readonly RosterRow[] = [], ids?: readonly Hex[]): RosterStore {
  const byId = new Map<string, RosterRow>();
  const store: RosterStore = {
    rows: () => [...byId].sort(([ia, a], [ib, b]) => rowTime(a) - rowTime(b) || (ia < ib ? -1 : ia > ib ? 1 : 0)).map(([, r]) => r),
    add: (rows, rowIds) => {
      rows.forEach((r, i) => {
        const id = rowIds?.[i] ?? rowId(r);
        if (!byId.has(id)) byId.set(id, r);
      });
    },
    close: () => {},
  };
  store.add(initial, ids);
  return store;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS spanner_bolts (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  signer TEXT NOT NULL,
  at INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS spanner_bolts_by_time ON spanner_bolts (at, id);
`;

/** Opens (creating it and its directory, mode 0700, if need be) the roster database at `path`. */
export function openSqliteRosterStore(path: string): RosterStore {
  const db = openDurableSqlite(path, SCHEMA);
  const insert = db.prepare('INSERT OR IGNORE INTO spanner_bolts (id, kind, signer, at, body) VALUES (?, ?, ?, ?, ?)');
  const select = db.prepare('SELECT id, body FROM spanner_bolts ORDER BY at, id');
  const addAll = db.transaction((rows: readonly RosterRow[], ids?: readonly Hex[]) => {
    rows.forEach((r, i) => insert.run(ids?.[i] ?? rowId(r), r.kind, rowSigner(r), rowTime(r), canonicalize(r)));
  });
  return {
    rows: () =>
      (select.all() as { id: string; body: string }[]).map(({ id, body }) => {
        try {
          return parseRosterRow(JSON.parse(body) as unknown, `${path}: spanner_bolts row ${id}`);
        } catch (e) {
          if (e instanceof SyntaxError) throw new RosterError('E_MALFORMED', `${path}: spanner_bolts row ${id} is not JSON (${e.message}); restore the database from a peer's snapshot`);
          throw e;
        }
      }),
    add: (rows, ids) => {
      if (rows.length > 0) addAll(rows, ids);
    },
    close: () => db.close(),
  };
}
