/**
 * The root reactor: sweeps every user's *.pending sentinels into the envoy's envelope
 * store (verifying each first), records envoy tombstones for projects their founder has
 * tombstoned, removes per-user directories that only held swept sentinels, and reaps
 * envelopes past their retention. A sentinel is renamed aside before it is read, so a
 * user appending a new revoke meanwhile never loses it.
 */
import { existsSync, readdirSync, renameSync, rmdirSync, unlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { paths, type Env } from '../platform/paths.js';
import { writeFileAtomic } from '../platform/atomic.js';
import { parseStrictJson, verifyChain, verifyLeave, verifyRevoke } from '../trust/index.js';
import { readPasswd } from './passwd.js';
import { checkOwnedDir, FILES, listProjectIds, loadProject, ownedReader } from './state.js';
import { reapEnvelopes, storeLeave, storeRevoke } from './envelopes.js';
import { tombstonesDir } from './daemon/access.js';

export interface SweepOptions {
  env: Env;
  passwdFile: string;
  now: () => number;
  log: (m: string) => void;
}

export interface SweepResult {
  revokes: number;
  leaves: number;
  rejected: number;
  tombstones: number;
}

function takeSentinel(path: string): string | null {
  const taking = `${path}.sweeping`;
  if (!existsSync(taking)) {
    try {
      renameSync(path, taking);
    } catch {
      return null;
    }
  }
  return taking;
}

export function sweepOnce(opts: SweepOptions): SweepResult {
  const res: SweepResult = { revokes: 0, leaves: 0, rejected: 0, tombstones: 0 };
  const store = paths.gitbackEnvelopes(opts.env);
  const now = opts.now();
  for (const user of readPasswd(opts.passwdFile)) {
    const base = join(user.home, '.vigo-gitback');
    try {
      if (!checkOwnedDir(base, user.uid)) continue;
    } catch (e) {
      opts.log(`skipping ${base}: ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    const read = ownedReader(user.uid);
    for (const pid of listProjectIds(base)) {
      const dir = join(base, pid);
      try {
        if (!checkOwnedDir(dir, user.uid)) continue;
        let sweptHere = false;
        for (const [file, kind] of [
          [FILES.revokePending, 'revoke'],
          [FILES.leavePending, 'leave'],
        ] as const) {
          if (!existsSync(join(dir, file)) && !existsSync(join(dir, `${file}.sweeping`))) continue;
          const taken = takeSentinel(join(dir, file));
          if (taken === null) continue;
          const text = read(taken);
          if (text === null) continue;
          try {
            const v = parseStrictJson(text, { what: join(dir, file) });
            const list = Array.isArray(v) ? v : [v];
            for (const env of list) {
              if (kind === 'revoke') {
                const r = verifyRevoke(env, pid, now);
                storeRevoke(store, r);
                res.revokes++;
                opts.log(`stored revoke of token ${r.token_id.slice(0, 12)}… in ${pid.slice(0, 12)}… (from ${user.name})`);
              } else {
                const l = verifyLeave(env, pid);
                storeLeave(store, l);
                res.leaves++;
                opts.log(`stored leave of ${l.subject.slice(0, 12)}… from ${pid.slice(0, 12)}… (from ${user.name})`);
              }
            }
            unlinkSync(taken);
            sweptHere = true;
          } catch (e) {
            res.rejected++;
            renameSync(taken, join(dir, `${file}.rejected`));
            opts.log(`rejected ${join(dir, file)}: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        const state = loadProject(base, pid, read);
        if (state === null) {
          // after a leave only the swept sentinel was left: the directory goes with it
          // (never a directory swept nothing from — it may be a project being written)
          if (sweptHere && readdirSync(dir).length === 0) rmdirSync(dir);
          continue;
        }
        if (state.config.tombstoned_at !== null && recordTombstone(opts.env, state, now, user.name)) res.tombstones++;
      } catch (e) {
        opts.log(`skipping ${dir}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }
  return res;
}

/** An envoy tombstone needs the founder's own verifying admin chain behind it. */
function recordTombstone(env: Env, state: NonNullable<ReturnType<typeof loadProject>>, now: number, user: string): boolean {
  const file = join(tombstonesDir(env), `${state.config.project_id}.json`);
  if (existsSync(file)) return false;
  const leaf = state.chain[state.chain.length - 1];
  if (!leaf) return false;
  const r = verifyChain({ projectId: state.config.project_id, chain: state.chain, delegations: state.delegations, revoked: new Map(), now, presenter: leaf.subject });
  if (!r.ok || r.role !== 'admin' || r.founder !== leaf.subject) return false;
  mkdirSync(tombstonesDir(env), { recursive: true, mode: 0o700 });
  writeFileAtomic(file, JSON.stringify({ project_id: state.config.project_id, tombstoned_at: state.config.tombstoned_at, successor: state.config.successor, by: user }) + '\n', { mode: 0o600 });
  return true;
}

export function reapOnce(env: Env, nowMs: number, retentionS: number, log: (m: string) => void): number {
  const removed = reapEnvelopes(paths.gitbackEnvelopes(env), nowMs, retentionS);
  for (const f of removed) log(`reaped ${f} (older than ${Math.round(retentionS / 86400)} days)`);
  return removed.length;
}
