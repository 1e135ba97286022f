/**
 * API tokens (`vgot_…`, roles admin / viewer / compliance) and one-time enrollment tokens
 * (`vget_…`). Only SHA-256 of a token is stored. An enrollment token also carries the first
 * 128 bits of the CA fingerprint after a dot, so a new envoy can check it is talking to
 * the right server before it trusts that server's CA (the token authenticates the envoy,
 * the fingerprint authenticates the server).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './db.js';
import { VigoError } from '../platform/errors.js';
import { formatEnrollToken } from '../wire/enroll.js';

export type Role = 'admin' | 'viewer' | 'compliance';
export const ROLES: readonly Role[] = ['admin', 'viewer', 'compliance'];

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export interface ApiTokenRow {
  hash: string;
  name: string;
  role: Role;
  created_at: number;
  expires_at: number | null;
  revoked: number;
}

export function mintApiToken(db: Db, name: string, role: Role, nowS: number, expiresAt: number | null): string {
  const token = `vgot_${randomBytes(32).toString('base64url')}`;
  db.prepare('INSERT INTO api_tokens (hash, name, role, created_at, expires_at) VALUES (?, ?, ?, ?, ?)').run(tokenHash(token), name, role, nowS, expiresAt);
  return token;
}

/** What an operator may see of an API token: never the token, nor its whole hash. */
export interface ApiTokenView {
  /** the first 16 hex digits of the token's SHA-256: names it for `revoke`, reveals nothing */
  id: string;
  name: string;
  role: Role;
  created_at: string;
  expires_at: string | null;
  status: 'active' | 'expired' | 'revoked';
}

const ID_LEN = 16;
const iso = (s: number) => new Date(s * 1000).toISOString();

export function apiTokenId(row: Pick<ApiTokenRow, 'hash'>): string {
  return row.hash.slice(0, ID_LEN);
}

function viewOf(r: ApiTokenRow, nowS: number): ApiTokenView {
  const status = r.revoked ? 'revoked' : r.expires_at !== null && r.expires_at <= nowS ? 'expired' : 'active';
  return { id: apiTokenId(r), name: r.name, role: r.role, created_at: iso(r.created_at), expires_at: r.expires_at === null ? null : iso(r.expires_at), status };
}

/** Every API token, oldest first. */
export function listApiTokens(db: Db, nowS: number): ApiTokenView[] {
  return (db.prepare('SELECT * FROM api_tokens ORDER BY created_at, name').all() as ApiTokenRow[]).map((r) => viewOf(r, nowS));
}

/**
 * Revoke the token whose id is `id` (see ApiTokenView.id). Refused from the next request on:
 * every request looks the token up. null when no token has that id.
 */
export function revokeApiToken(db: Db, id: string, nowS: number): { token: ApiTokenView; already: boolean } | null {
  if (!/^[0-9a-f]{16}$/.test(id)) return null;
  const row = db.prepare('SELECT * FROM api_tokens WHERE substr(hash, 1, 16) = ?').get(id) as ApiTokenRow | undefined;
  if (!row) return null;
  const already = row.revoked !== 0;
  if (!already) db.prepare('UPDATE api_tokens SET revoked = 1 WHERE hash = ?').run(row.hash);
  return { token: viewOf({ ...row, revoked: 1 }, nowS), already };
}

/** The boot-time local-admin token replaces the previous one (a restart invalidates it). */
export function mintLocalAdminToken(db: Db, nowS: number): string {
  db.prepare("DELETE FROM api_tokens WHERE name = 'local-admin'").run();
  return mintApiToken(db, 'local-admin', 'admin', nowS, null);
}

export type AuthResult = { ok: true; row: ApiTokenRow } | { ok: false; message: string };

export function checkApiToken(db: Db, token: string, nowS: number): AuthResult {
  if (!token.startsWith('vgot_')) return { ok: false, message: 'not a vigo API token (expected vgot_…)' };
  const row = db.prepare('SELECT * FROM api_tokens WHERE hash = ?').get(tokenHash(token)) as ApiTokenRow | undefined;
  if (!row) return { ok: false, message: 'unknown API token' };
  if (row.revoked) return { ok: false, message: 'API token revoked' };
  if (row.expires_at !== null && row.expires_at <= nowS) return { ok: false, message: `API token expired at ${new Date(row.expires_at * 1000).toISOString()}` };
  return { ok: true, row };
}

/**
 * Enrollment tokens may be bound to the hostname they were minted for (column added to
 * databases made before binding existed). Only the token's SHA-256 is stored.
 */
const migrated = new WeakSet<Db>();
function ensureEnrollTokenSchema(db: Db): void {
  if (migrated.has(db)) return;
  const cols = db.prepare('PRAGMA table_info(enroll_tokens)').all() as { name: string }[];
  if (!cols.some((c) => c.name === 'hostname')) db.exec('ALTER TABLE enroll_tokens ADD COLUMN hostname TEXT');
  migrated.add(db);
}

export function mintEnrollToken(db: Db, caFingerprint: string, nowS: number, ttlS: number, hostname: string | null = null): { token: string; expires_at: number } {
  ensureEnrollTokenSchema(db);
  const token = formatEnrollToken(randomBytes(24), caFingerprint);
  const expires_at = nowS + ttlS;
  db.prepare('INSERT INTO enroll_tokens (hash, created_at, expires_at, hostname) VALUES (?, ?, ?, ?)').run(tokenHash(token), nowS, expires_at, hostname);
  return { token, expires_at };
}

/**
 * Refuse an unknown, used, expired or (for a bound token) other-hostname enrollment with a
 * message the envoy operator can act on. A refusal consumes nothing. The bound hostname is
 * not named in the refusal: whoever holds a leaked token learns nothing from trying.
 */
export function checkEnrollToken(db: Db, token: string, nowS: number, hostname: string): void {
  ensureEnrollTokenSchema(db);
  const row = db.prepare('SELECT * FROM enroll_tokens WHERE hash = ?').get(tokenHash(token)) as
    | { expires_at: number; used_at: number | null; hostname: string | null }
    | undefined;
  const hint = 'ask an operator for a fresh one: vigocli enroll token create';
  if (!row) throw new VigoError('E_ENROLL_TOKEN', 'enrollment token not recognized by this server', { hint });
  if (row.used_at !== null) throw new VigoError('E_ENROLL_TOKEN', 'enrollment token already used (tokens are single-use)', { hint });
  if (row.expires_at <= nowS) throw new VigoError('E_ENROLL_TOKEN', 'enrollment token expired', { hint });
  if (row.hostname !== null && row.hostname.toLowerCase() !== hostname.toLowerCase()) {
    throw new VigoError('E_ENROLL_HOSTNAME', `enrollment token is bound to another hostname than '${hostname}'`, {
      hint: 'enroll with --hostname set to the name the token was minted for (vigocli enroll token create --hostname H); the token was not used up',
    });
  }
}

/** Consume an enrollment token inside the caller's transaction (checking it again there). */
export function consumeEnrollToken(db: Db, token: string, nowS: number, hostname: string, envoyId: string): void {
  checkEnrollToken(db, token, nowS, hostname);
  db.prepare('UPDATE enroll_tokens SET used_at = ?, envoy_id = ? WHERE hash = ?').run(nowS, envoyId, tokenHash(token));
}

/** Give back a token consumed for an enrollment that then failed elsewhere (a routed one the owning bolt refused). */
export function releaseEnrollToken(db: Db, envoyId: string): void {
  db.prepare('UPDATE enroll_tokens SET used_at = NULL, envoy_id = NULL WHERE envoy_id = ?').run(envoyId);
}
