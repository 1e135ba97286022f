/** `vigo swarm gitback project re-found <project_id> [--force]` */
import type { Command } from 'commander';
import { projectRefound } from '../../../../../gitback/index.js';
import { cliContext } from '../context.js';

export function registerRefound(p: Command): void {
  p.command('re-found <project_id>')
    .description('Founder escape hatch at the delegation cap: new project id, migrate refs, tombstone the old')
    .option('--force', 're-found below the cap')
    .action(async (pid: string, o: { force?: boolean }) => projectRefound(cliContext(), pid, o));
}
