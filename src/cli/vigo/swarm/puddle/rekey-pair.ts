/** `vigo swarm puddle rekey-pair`: a new keypair; the retired one is kept, projects follow via hooks. */
import type { Command } from 'commander';
import { homeDir } from '../../../../platform/paths.js';
import { openPairOffer, puddleDir, type HookRegistry, type RekeyHook, rekeyPair } from '../../../../puddle/index.js';
import { formatPublicKey, toHex } from '../../../../trust/index.js';
import { pairTtlS, printOffer } from './pair.js';
import { PASSPHRASE_FILE_HELP, currentPassphrase } from './common.js';

export function registerRekeyPair(puddle: Command, hooks: HookRegistry<RekeyHook>): void {
  puddle
    .command('rekey-pair')
    .description('Replace the keypair (same passphrase); keep the retired key wrapped; delegate founded projects to the new key')
    .option('--passphrase-file <F>', PASSPHRASE_FILE_HELP)
    .option('--force-orphan-projects', 'tombstone founded projects whose delegation chain is at the cap instead of refusing')
    .action(async (opts: { passphraseFile?: string; forceOrphanProjects?: boolean }) => {
      const r = await rekeyPair(puddleDir(process.env), {
        passphrase: currentPassphrase(opts.passphraseFile),
        forceOrphanProjects: opts.forceOrphanProjects === true,
        home: homeDir(process.env),
        progress: (l) => process.stderr.write(`${l}\n`),
        hooks,
        env: process.env,
      });
      const out = [
        r.resumed ? 'Rekey finished (resumed)' : 'Puddle rekeyed',
        `  Retired: ${formatPublicKey(r.oldPublicKey)} (kept wrapped under retired/)`,
        `  New:     ${formatPublicKey(r.newPublicKey)}`,
        `  Session: ${r.sessionRefreshed ? 'refreshed with the new key' : 'locked (run `vigo swarm puddle unlock`)'}`,
        ...r.lines,
      ];
      process.stdout.write(out.join('\n') + '\n');
      // the puddle's other envoys adopt the new key with `rekey --from` and this code
      const offer = openPairOffer(puddleDir(process.env), { purpose: 'rekey', nowS: Math.floor(Date.now() / 1000), ttlS: pairTtlS(process.env), oldPubkey: toHex(r.oldPublicKey) });
      printOffer(offer, 'rekey', false);
    });
}
