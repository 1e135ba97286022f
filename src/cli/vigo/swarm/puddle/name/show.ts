/** `vigo swarm puddle name show`. */
import type { Command } from 'commander';
import { puddleDir, readNameClaim } from '../../../../../puddle/index.js';

export function registerNameShow(name: Command): void {
  name
    .command('show')
    .description('Print the claimed name (verified), if any')
    .option('--json', 'print the signed claim')
    .action((opts: { json?: boolean }) => {
      const claim = readNameClaim(puddleDir(process.env));
      if (opts.json) process.stdout.write(JSON.stringify(claim, null, 2) + '\n');
      else process.stdout.write(claim ? `${claim.name}\n` : '(no name claimed)\n');
    });
}
