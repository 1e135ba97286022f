/** `vigo swarm gitback project rejoin <project_id> [--invitation <file|->]` */
import type { Command } from 'commander';
import { projectRejoin } from '../../../../../gitback/index.js';
import { cliContext } from '../context.js';

export function registerRejoin(p: Command): void {
  p.command('rejoin <project_id>')
    .description('After a founder rekey: refresh the local chain in place from a re-invitation')
    .option('--invitation <file|->', 'the invitation JSON, or - for stdin', '-')
    .action(async (pid: string, o: { invitation?: string }) => projectRejoin(cliContext(), pid, o));
}
