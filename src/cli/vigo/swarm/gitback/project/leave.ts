/** `vigo swarm gitback project leave <project_id> [--purge] [--yes]` */
import type { Command } from 'commander';
import { projectLeave } from '../../../../../gitback/index.js';
import { cliContext } from '../context.js';

export function registerLeave(p: Command): void {
  p.command('leave <project_id>')
    .description('Drop local membership and queue a LEAVE envelope')
    .option('--purge', 'also delete the bare repo on this envoy (root)')
    .option('--yes', 'skip the confirmation prompt')
    .action(async (pid: string, o: { purge?: boolean; yes?: boolean }) => projectLeave(cliContext(), pid, o));
}
