/** `vigo swarm puddle name clear`: drop the local claim. */
import type { Command } from 'commander';
import { puddleDir } from '../../../../../puddle/index.js';
import { clearNameClaim } from '../../../../../puddle/name.js';

export function registerNameClear(name: Command): void {
  name
    .command('clear')
    .description('Remove the name claim from this envoy')
    .action(() => {
      process.stdout.write(clearNameClaim(puddleDir()) ? 'Name claim removed\n' : 'No name was claimed\n');
    });
}
