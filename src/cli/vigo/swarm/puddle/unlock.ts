/** `vigo swarm puddle unlock`: unwrap the key into a session helper for this user. */
import type { Command } from 'commander';
import { VigoError } from '../../../../platform/errors.js';
import { puddleDir, type HookRegistry, type UnlockHook, DEFAULT_IDLE_TIMEOUT_S, parseDuration, unlockPuddle, processName } from '../../../../puddle/index.js';
import { formatPublicKey } from '../../../../trust/index.js';
import { PASSPHRASE_FILE_HELP, currentPassphrase, formatDuration } from './common.js';

function parseWatchPid(s: string | undefined): number | null {
  if (s === undefined) return process.ppid > 1 ? process.ppid : null;
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 0) throw new VigoError('E_USAGE', `--watch-pid: ${JSON.stringify(s)} is not a process id`, { hint: 'give a pid, or 0 for no watchdog' });
  return n === 0 ? null : n;
}

function watchedName(pid: number): string {
  const n = processName(pid);
  return n === null ? '' : ` (${n})`;
}

export function registerUnlock(puddle: Command, hooks: HookRegistry<UnlockHook>): void {
  puddle
    .command('unlock')
    .description('Unwrap the key and start the session helper (locks when idle or when the watched process exits)')
    .option('--passphrase-file <F>', PASSPHRASE_FILE_HELP)
    .option('--idle-timeout <duration>', 'lock after this long without a signature (90s, 15m, 2h)', `${DEFAULT_IDLE_TIMEOUT_S / 60}m`)
    .option('--watch-pid <pid>', 'lock when this process exits (default: the parent of this command, i.e. your shell; 0: no watchdog)')
    .action(async (opts: { passphraseFile?: string; idleTimeout: string; watchPid?: string }) => {
      const dir = puddleDir(process.env);
      const idleTimeoutS = parseDuration(opts.idleTimeout);
      const watchPid = parseWatchPid(opts.watchPid);
      const r = await unlockPuddle(dir, currentPassphrase(opts.passphraseFile), { idleTimeoutS, watchPid, hooks, env: process.env });
      if (r.already) {
        process.stdout.write(
          `Puddle already unlocked (session pid ${r.status.pid}, locks after ${formatDuration(r.status.idle_left_s)} more idle)\n`,
        );
        return;
      }
      process.stdout.write(
        `Puddle unlocked\n  Pubkey:  ${formatPublicKey(r.publicKey)}\n  Session: pid ${r.pid}; locks after ${formatDuration(idleTimeoutS)} idle` +
          (watchPid === null ? '' : ` or when pid ${watchPid}${watchedName(watchPid)} exits`) +
          '\n' +
          r.lines.map((l) => `${l}\n`).join(''),
      );
    });
}
