/** `vigo swarm gitback project re-invite-all [<project_id>]` */
import type { Command } from 'commander';
import { projectReinviteAll } from '../../../../../gitback/index.js';
import { cliContext } from '../context.js';

export function registerReinviteAll(p: Command): void {
  p.command('re-invite-all [project_id]')
    .description('Founder, after a rekey: mint fresh invitations for every cross-puddle member')
    .action(async (pid: string | undefined) => projectReinviteAll(cliContext(), pid));
}
