/**
 * The envoy's envelope store: $VIGO_ROOT/var/lib/vigo/swarm/gitback/envelopes/<pid>/
 * {revokes/<token_id>.json, leaves/<envelope_id>.json}, root-owned. Only verified
 * envelopes are stored; reading re-verifies (a file edited on disk proves nothing).
 * A verified leave retires the token it names, like a revoke.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/atomic.js';
import { canonicalize, envelopeId, verifyLeave, verifyRevoke, type LeaveEnvelope, type RevokeEnvelope } from '../trust/index.js';

export function revokesDir(store: string, pid: string): string {
  return join(store, pid, 'revokes');
}
export function leavesDir(store: string, pid: string): string {
  return join(store, pid, 'leaves');
}

export function storeRevoke(store: string, env: RevokeEnvelope): string {
  const dir = revokesDir(store, env.project_id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${env.token_id}.json`);
  if (!existsSync(file)) writeFileAtomic(file, canonicalize(env) + '\n', { mode: 0o600 });
  return file;
}

export function storeLeave(store: string, env: LeaveEnvelope): string {
  const dir = leavesDir(store, env.project_id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${envelopeId(env)}.json`);
  if (!existsSync(file)) writeFileAtomic(file, canonicalize(env) + '\n', { mode: 0o600 });
  return file;
}

function jsonFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .map((n) => join(dir, n));
}

/** token_id → reason, from every stored envelope that still verifies. */
export function loadRevocations(store: string, pid: string, now: number, log?: (m: string) => void): Map<string, string | null> {
  const out = new Map<string, string | null>();
  for (const f of jsonFiles(revokesDir(store, pid))) {
    try {
      const r = verifyRevoke(JSON.parse(readFileSync(f, 'utf8')), pid, now);
      out.set(r.token_id, r.reason === null ? 'revoked by an admin' : `revoked by an admin: ${r.reason}`);
    } catch (e) {
      log?.(`ignoring ${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  for (const f of jsonFiles(leavesDir(store, pid))) {
    try {
      const l = verifyLeave(JSON.parse(readFileSync(f, 'utf8')), pid);
      if (l.token_id !== null && !out.has(l.token_id)) out.set(l.token_id, 'its holder left the project');
    } catch (e) {
      log?.(`ignoring ${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return out;
}

export function countEnvelopes(store: string): { revokes: number; leaves: number } {
  let revokes = 0;
  let leaves = 0;
  if (!existsSync(store)) return { revokes, leaves };
  for (const pid of readdirSync(store)) {
    revokes += jsonFiles(revokesDir(store, pid)).length;
    leaves += jsonFiles(leavesDir(store, pid)).length;
  }
  return { revokes, leaves };
}

/** Removes envelopes stored longer ago than retentionS; returns the paths removed. */
export function reapEnvelopes(store: string, nowMs: number, retentionS: number): string[] {
  const removed: string[] = [];
  if (!existsSync(store)) return removed;
  for (const pid of readdirSync(store)) {
    for (const f of [...jsonFiles(revokesDir(store, pid)), ...jsonFiles(leavesDir(store, pid))]) {
      if (nowMs - statSync(f).mtimeMs > retentionS * 1000) {
        rmSync(f, { force: true });
        removed.push(f);
      }
    }
  }
  return removed;
}
