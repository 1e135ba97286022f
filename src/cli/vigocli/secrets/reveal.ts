/** `vigocli secrets reveal NAME` */
import type { Command } from 'commander';
import { revealSecret } from '../../../server/secrets.js';
import { secretsFlags, secretsFrom, WINDOW_MS } from './common.js';

export function registerReveal(secrets: Command): void {
  secretsFlags(secrets.command('reveal').argument('<name>', 'secret name').description('Print a secret to stdout (needs an unlocked vault)')).action(
    (name: string, o: { secretsDir: string; keyFile?: string }) => {
      process.stdout.write(revealSecret(secretsFrom(o), name, Date.now(), WINDOW_MS));
    },
  );
}
