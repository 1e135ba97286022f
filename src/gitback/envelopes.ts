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

/**
 * Verified envelopes by file, valid while the file's mtime and size are unchanged — so a
 * connection does not re-verify every stored envelope's signatures.
 */
export class EnvelopeCache {
  private readonly m = new Map<string, { mtimeMs: number; size: number; tokenId: string | null; reason: string }>();

  get(file: string, verify: () => { tokenId: string | null; reason: string }): { tokenId: string | null; reason: string } {
    const st = statSync(file);
    const hit = this.m.get(file);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit;
    const v = verify();
    if (this.m.size > 100_000) this.m.clear();
    this.m.set(file, { mtimeMs: st.mtimeMs, size: st.size, ...v });
    return v;
  }
}

/** token_id → reason, from every stored envelope that verifies. */
export function loadRevocations(store: string, pid: string, now: number, log?: (m: string) => void, cache: EnvelopeCache = new EnvelopeCache()): Map<string, string | null> {
  const out = new Map<string, string | null>();
  const each = (files: string[], verify: (f: string) => { tokenId: string | null; reason: string }) => {
    for (const f of files) {
      try {
        const { tokenId, reason } = cache.get(f, () => verify(f));
        if (tokenId !== null && !out.has(tokenId)) out.set(tokenId, reason);
      } catch (e) {
        log?.(`ignoring ${f}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  each(jsonFiles(revokesDir(store, pid)), (f) => {
    const r = verifyRevoke(JSON.parse(readFileSync(f, 'utf8')), pid, now);
    return { tokenId: r.token_id, reason: r.reason === null ? 'revoked by an admin' : `revoked by an admin: ${r.reason}` };
  });
  each(jsonFiles(leavesDir(store, pid)), (f) => {
    const l = verifyLeave(JSON.parse(readFileSync(f, 'utf8')), pid);
    return { tokenId: l.token_id, reason: 'its holder left the project' };
  });
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
