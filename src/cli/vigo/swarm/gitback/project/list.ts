/** `vigo swarm gitback project list [--json]` */
import type { Command } from 'commander';
import { projectList } from '../../../../../gitback/index.js';
import { cliContext } from '../context.js';

export function registerList(p: Command): void {
  p.command('list')
    .description('List projects this user has joined locally')
    .option('--json', 'the full ProjectConfig array as JSON')
    .action((o: { json?: boolean }) => projectList(cliContext(), o));
}
