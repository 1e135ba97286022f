/** `vigocli secrets unlock` — opens a sliding window of secrets.unlock_window_h (default 24 h). */
import type { Command } from 'commander';
import { unlock } from '../../../server/index-admin.js';
import { secretsFlags, secretsFrom, type SecretsOpts } from './common.js';

export function registerUnlock(secrets: Command): void {
  secretsFlags(secrets.command('unlock').description('Open a sliding window of secrets.unlock_window_h (default 24 h) for reveal/set; each use extends it')).action((o: SecretsOpts) => {
    const p = secretsFrom(o);
    const until = unlock(p, Date.now(), p.windowMs);
    process.stdout.write(`Secrets unlocked until ${new Date(until).toISOString()} (${p.windowMs / 3600_000} h, sliding: each use extends it; \`vigocli secrets lock\` closes it)\n`);
  });
}
