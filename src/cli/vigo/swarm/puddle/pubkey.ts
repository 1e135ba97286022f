/** `vigo swarm puddle pubkey`: the form `gitback project invite --puddle` accepts. */
import type { Command } from 'commander';
import { puddleDir, readPublicKey } from '../../../../puddle/index.js';
import { formatPublicKey } from '../../../../trust/index.js';

export function registerPubkey(puddle: Command): void {
  puddle
    .command('pubkey')
    .description("Print this user's puddle public key as ed25519:<hex>")
    .action(() => {
      process.stdout.write(formatPublicKey(readPublicKey(puddleDir(process.env))) + '\n');
    });
}
