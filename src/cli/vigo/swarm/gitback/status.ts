/** `vigo swarm gitback status` */
import type { Command } from 'commander';
import { gitbackStatus } from '../../../../gitback/project/envoy.js';
import { cliContext } from './context.js';

export function registerStatus(gb: Command): void {
  gb.command('status')
    .description('Show envoy-wide gitback posture (projects, bare repos, envelopes, helper-daemon socket)')
    .action(async () => gitbackStatus(cliContext()));
}
