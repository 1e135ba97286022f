/** `vigo swarm puddle init`: make this user's keypair and wrap it under a passphrase. */
import type { Command } from 'commander';
import { puddleDir, assertNoIdentity, initIdentity, recoverIfNeeded } from '../../../../puddle/index.js';
import { formatPublicKey } from '../../../../trust/index.js';
import { PASSPHRASE_FILE_HELP, newPassphrase } from './common.js';

export function registerInit(puddle: Command): void {
  puddle
    .command('init')
    .description("Create this user's puddle identity (refuses when one exists)")
    .option('--passphrase-file <F>', PASSPHRASE_FILE_HELP)
    .action(async (opts: { passphraseFile?: string }) => {
      const dir = puddleDir(process.env);
      await recoverIfNeeded(dir);
      assertNoIdentity(dir); // checked again under the lock; this spares a passphrase asked in vain
      const pass = await newPassphrase(opts.passphraseFile, 'VIGO_PUDDLE_PASSPHRASE', 'New puddle passphrase');
      const pk = await initIdentity(dir, pass, process.env);
      process.stdout.write(`Puddle initialized\n  Pubkey: ${formatPublicKey(pk)}\n  Dir:    ${dir}\nNext: vigo swarm puddle unlock\n`);
    });
}
