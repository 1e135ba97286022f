/** `vigo swarm puddle status [--json]`: what an operator checks before signing anything. */
import type { Command } from 'commander';
import { isInitialized, puddleDir, readNameClaim, readPublicKey } from '../../../../puddle/index.js';
import { readPendingRekey } from '../../../../puddle/rekey.js';
import { currentSession } from '../../../../puddle/unlock.js';
import { formatPublicKey, toHex } from '../../../../trust/index.js';
import { formatDuration } from './common.js';

export interface PuddleStatus {
  dir: string;
  initialized: boolean;
  pubkey: string | null;
  name: string | null;
  /** why name-claim.json does not count (tampered, another key's, malformed) */
  name_error?: string;
  unlocked: boolean;
  session: { pid: number; idle_timeout_s: number; idle_left_s: number; watch_pid: number | null; unlocked_at: number } | null;
  rekey_pending: boolean;
}

export async function puddleStatus(dir: string): Promise<PuddleStatus> {
  const initialized = isInitialized(dir);
  const out: PuddleStatus = { dir, initialized, pubkey: null, name: null, unlocked: false, session: null, rekey_pending: false };
  if (!initialized) return out;
  const pk = readPublicKey(dir);
  out.pubkey = formatPublicKey(pk);
  try {
    out.name = readNameClaim(dir)?.name ?? null;
  } catch (e) {
    out.name_error = (e as Error).message;
  }
  out.rekey_pending = readPendingRekey(dir) !== null;
  const st = await currentSession(dir, toHex(pk));
  if (st) {
    out.unlocked = true;
    out.session = { pid: st.pid, idle_timeout_s: st.idle_timeout_s, idle_left_s: st.idle_left_s, watch_pid: st.watch_pid, unlocked_at: st.unlocked_at };
  }
  return out;
}

export function registerStatus(puddle: Command): void {
  puddle
    .command('status')
    .description('Show whether the puddle is initialized and unlocked, its pubkey, name, and idle time left')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const s = await puddleStatus(puddleDir());
      if (opts.json) {
        process.stdout.write(JSON.stringify(s, null, 2) + '\n');
        return;
      }
      const lines = [`Puddle:      ${s.dir}`, `Initialized: ${s.initialized ? 'yes' : 'no'}`];
      if (!s.initialized) {
        lines.push('hint: run `vigo swarm puddle init`');
      } else {
        const name = s.name_error !== undefined ? `(invalid claim: ${s.name_error})` : (s.name ?? '(none; `vigo swarm puddle name set <name>`)');
        lines.push(`Pubkey:      ${s.pubkey}`, `Name:        ${name}`);
        if (s.session) {
          const w = s.session.watch_pid === null ? '' : `, or when pid ${s.session.watch_pid} exits`;
          lines.push(`Unlocked:    yes (session pid ${s.session.pid}; locks after ${formatDuration(s.session.idle_left_s)} more idle${w})`);
        } else {
          lines.push('Unlocked:    no (`vigo swarm puddle unlock`)');
        }
        if (s.rekey_pending) lines.push('Rekey:       interrupted — run `vigo swarm puddle rekey-pair` to finish it');
      }
      process.stdout.write(lines.join('\n') + '\n');
    });
}
