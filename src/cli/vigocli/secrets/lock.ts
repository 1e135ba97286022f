/** `vigocli secrets lock` — close the unlock window now. */
import type { Command } from 'commander';
import { lock, unlockedUntil } from '../../../server/index-admin.js';
import { secretsFlags, secretsFrom, type SecretsOpts } from './common.js';

export function registerLock(secrets: Command): void {
  secretsFlags(secrets.command('lock').description('Lock the vault now: reveal and set are refused until the next unlock')).action((o: SecretsOpts) => {
    const p = secretsFrom(o);
    const was = unlockedUntil(p, Date.now());
    lock(p);
    process.stdout.write(was === null ? 'Secrets vault was already locked\n' : `Secrets locked (the window would have closed at ${new Date(was).toISOString()})\n`);
  });
}
