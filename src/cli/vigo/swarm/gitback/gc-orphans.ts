/** `vigo swarm gitback gc-orphans [--yes]` */
import type { Command } from 'commander';
import { gitbackGcOrphans } from '../../../../gitback/index.js';
import { cliContext } from './context.js';

export function registerGcOrphans(gb: Command): void {
  gb.command('gc-orphans')
    .description('Root-only: list (or with --yes delete) bare repos no passwd user holds')
    .option('--yes', 'delete the listed bare repos')
    .action((o: { yes?: boolean }) => gitbackGcOrphans(cliContext(), o));
}
