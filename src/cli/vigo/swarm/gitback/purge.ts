/** `vigo swarm gitback purge --yes` */
import type { Command } from 'commander';
import { gitbackPurge } from '../../../../gitback/index.js';
import { cliContext } from './context.js';

export function registerPurge(gb: Command): void {
  gb.command('purge')
    .description('Wipe local gitback state (user: ~/.vigo-gitback; root: also the envoy bare repos)')
    .option('--yes', 'really wipe (without it, print what would be wiped)')
    .action((o: { yes?: boolean }) => gitbackPurge(cliContext(), o));
}
