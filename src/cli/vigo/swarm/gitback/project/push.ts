/** `vigo swarm gitback project push [<handle>] [--repo <path>]` */
import type { Command } from 'commander';
import { projectPush } from '../../../../../gitback/index.js';
import { cliContext } from '../context.js';

export function registerPush(p: Command): void {
  p.command('push [handle]')
    .description('Publish (or re-publish) a project from its work tree: ensure the swarm remote, push --all/--tags')
    .option('--repo <path>', 'the git work tree (default: the current directory)')
    .action(async (handle: string | undefined, o: { repo?: string }) => projectPush(cliContext(), handle, o));
}
