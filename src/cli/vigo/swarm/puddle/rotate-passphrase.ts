/** `vigo swarm puddle rotate-passphrase`: re-wrap the same key under a new passphrase. */
import type { Command } from 'commander';
import { puddleDir, rotatePassphrase } from '../../../../puddle/index.js';
import { formatPublicKey } from '../../../../trust/index.js';
import { PASSPHRASE_FILE_HELP, currentPassphrase, newPassphrase } from './common.js';

export function registerRotatePassphrase(puddle: Command): void {
  puddle
    .command('rotate-passphrase')
    .description('Re-wrap the same key under a new passphrase (fresh salt, current KDF parameters)')
    .option('--passphrase-file <F>', PASSPHRASE_FILE_HELP)
    .option('--new-passphrase-file <F>', 'the new passphrase (else $VIGO_PUDDLE_NEW_PASSPHRASE, a prompt asked twice, or the next line of stdin)')
    .action(async (opts: { passphraseFile?: string; newPassphraseFile?: string }) => {
      const dir = puddleDir(process.env);
      const oldPass = await currentPassphrase(opts.passphraseFile, 'Current puddle passphrase')();
      const newPass = await newPassphrase(opts.newPassphraseFile, 'VIGO_PUDDLE_NEW_PASSPHRASE', 'New puddle passphrase');
      const pk = await rotatePassphrase(dir, oldPass, newPass, process.env);
      process.stdout.write(`Passphrase changed\n  Pubkey: ${formatPublicKey(pk)} (unchanged)\n`);
    });
}
