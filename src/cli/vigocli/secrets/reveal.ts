/** `vigocli secrets reveal NAME` */
import type { Command } from 'commander';
import { revealSecret } from '../../../server/index-admin.js';
import { secretsFlags, secretsFrom, type SecretsOpts } from './common.js';

export function registerReveal(secrets: Command): void {
  secretsFlags(secrets.command('reveal').argument('<name>', 'secret name').description('Print a secret to stdout (needs an unlocked vault)')).action(
    (name: string, o: SecretsOpts) => {
      const p = secretsFrom(o);
      process.stdout.write(revealSecret(p, name, Date.now(), p.windowMs));
    },
  );
}
