/** `vigo swarm gitback project status <project_id>` */
import type { Command } from 'commander';
import { projectStatus } from '../../../../../gitback/index.js';
import { cliContext } from '../context.js';

export function registerProjectStatus(p: Command): void {
  p.command('status <project_id>')
    .description("Show one project's local state")
    .action((pid: string) => projectStatus(cliContext(), pid));
}
