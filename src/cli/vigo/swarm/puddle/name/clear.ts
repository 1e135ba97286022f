/** `vigo swarm puddle name clear`: drop the local claim. */
import type { Command } from 'commander';
import { puddleDir, clearNameClaim } from '../../../../../puddle/index.js';

export function registerNameClear(name: Command): void {
  name
    .command('clear')
    .description('Remove the name claim from this envoy')
    .action(() => {
      process.stdout.write(clearNameClaim(puddleDir(process.env)) ? 'Name claim removed\n' : 'No name was claimed\n');
    });
}
