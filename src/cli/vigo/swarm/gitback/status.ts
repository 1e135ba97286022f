/** `vigo swarm gitback status [--timeout <seconds>]` */
import type { Command } from 'commander';
import { gitbackStatus } from '../../../../gitback/index.js';
import { cliContext } from './context.js';

export function registerStatus(gb: Command): void {
  gb.command('status')
    .description('Show envoy-wide gitback posture (projects, bare repos, envelopes, helper-daemon socket)')
    .option('--timeout <seconds>', 'how long to wait for the helper daemon to answer (default 5, or VIGO_GITBACK_TIMEOUT)')
    .action(async (o: { timeout?: string }) => {
      const ctx = cliContext();
      if (o.timeout !== undefined) ctx.env = { ...ctx.env, VIGO_GITBACK_TIMEOUT: o.timeout };
      await gitbackStatus(ctx);
    });
}
