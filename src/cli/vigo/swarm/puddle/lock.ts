/** `vigo swarm puddle lock`: make the session helper forget the key. */
import type { Command } from 'commander';
import { puddleDir, lockSession } from '../../../../puddle/index.js';

export function registerLock(puddle: Command): void {
  puddle
    .command('lock')
    .description('Lock the puddle: the session helper forgets the key and exits')
    .action(async () => {
      const was = await lockSession(puddleDir(process.env));
      process.stdout.write(was ? 'Puddle locked\n' : 'Puddle was not unlocked\n');
    });
}
