/** `vigo swarm gitback project join <project_id> [--invitation <file|->]` */
import type { Command } from 'commander';
import { projectJoin } from '../../../../../gitback/index.js';
import { cliContext } from '../context.js';

export function registerJoin(p: Command): void {
  p.command('join <project_id>')
    .description('Adopt an invitation issued by an admin')
    .option('--invitation <file|->', 'the invitation JSON, or - for stdin', '-')
    .action(async (pid: string, o: { invitation?: string }) => projectJoin(cliContext(), pid, o));
}
