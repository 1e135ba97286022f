/** `vigocli spanner stacks join`: local stacks project state on a vigosrv that joined the ops-puddle */
import type { Command } from 'commander';
import { join } from 'node:path';
import { paths } from '../../../../platform/paths.js';
import { requireOps } from '../../../../spanner/index-ops.js';
import { shortId, stacksBase, stacksJoin } from '../../../../spanner/index-stacks.js';
import { printJson } from '../../output.js';
import { opsContext } from '../ops-puddle/common.js';
import { requireSpannerMode } from './common.js';

export function registerStacksJoin(stacks: Command): void {
  stacks
    .command('join')
    .description('Create local stacks project state on a vigosrv that joined the ops-puddle')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const c = opsContext(cmd);
      await requireSpannerMode('join');
      requireOps(c.opsDir);
      const r = await stacksJoin({ opsDir: c.opsDir, socket: c.socket, gitbackBase: paths.gitbackBase(process.env), env: process.env, now: Math.floor(Date.now() / 1000) });
      if (o.json) return printJson(r);
      process.stdout.write(
        `Stacks project state created\nProject ID: ${r.project_id}\nState dir: ${join(stacksBase(c.opsDir), shortId(r.project_id))}/\n` +
          'The gitback catch-up reactor will pull stacks bytes from a\nreachable ops-puddle member shortly (LAN multicast or cross-\nsubnet members). The stacks watcher syncs bare→.live and\nreloads on arrival.\n',
      );
    });
}
