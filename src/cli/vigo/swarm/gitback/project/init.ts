/** `vigo swarm gitback project init <handle> [--scope] [--repo] [--no-push]` */
import type { Command } from 'commander';
import { projectInit, type InitOptions } from '../../../../../gitback/index.js';
import { cliContext } from '../context.js';

export function registerInit(p: Command): void {
  p.command('init <handle>')
    .description('Found a new project (and, from a work tree, add the swarm remote and push --all/--tags)')
    .option('--scope <kind>', 'swarm-wide | members-only', 'swarm-wide')
    .option('--repo <path>', 'the git work tree to publish (default: the current directory)')
    .option('--no-push', 'register only; publish later with project push')
    .action(async (handle: string, o: InitOptions) => projectInit(cliContext(), handle, o));
}
