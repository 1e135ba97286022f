/** `vigocli secrets init` */
import type { Command } from 'commander';
import { ensureMasterKey } from '../../../server/index-admin.js';
import { secretsFlags, secretsFrom, type SecretsOpts } from './common.js';

export function registerInit(secrets: Command): void {
  secretsFlags(secrets.command('init').description('Create the 32-byte master key if it does not exist (vigosrv also does this at first start)')).action(
    (o: SecretsOpts) => {
      const p = secretsFrom(o);
      process.stdout.write(ensureMasterKey(p) ? `Created master key ${p.keyFile} (0600)\n` : `Master key already present: ${p.keyFile}\n`);
    },
  );
}
