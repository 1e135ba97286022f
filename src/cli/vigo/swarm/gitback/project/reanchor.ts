/** `vigo swarm gitback project reanchor <project_id>` */
import type { Command } from 'commander';
import { projectReanchor } from '../../../../../gitback/index.js';
import { cliContext } from '../context.js';

export function registerReanchor(p: Command): void {
  p.command('reanchor <project_id>')
    .description('Hard-fork the project under your puddle (typed-handle confirmation)')
    .action(async (pid: string) => projectReanchor(cliContext(), pid));
}
