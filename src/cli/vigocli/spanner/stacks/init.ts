/** `vigocli spanner stacks init [--source DIR] [--gitback-base DIR]`: found the ops-puddle-owned stacks project */
import type { Command } from 'commander';
import { basename, dirname, join } from 'node:path';
import { paths } from '../../../../platform/paths.js';
import { requireOps, requireOpsHelper } from '../../../../spanner/index-ops.js';
import { shortId, stacksInit } from '../../../../spanner/index-stacks.js';
import { printJson } from '../../output.js';
import { opsContext, requireUnlocked } from '../ops-puddle/common.js';
import { requireSpannerMode } from './common.js';

export function registerStacksInit(stacks: Command): void {
  stacks
    .command('init')
    .description('Found the ops-puddle-owned stacks gitback project here and import the on-disk stacks as its first commit')
    .option('--source <dir>', 'the stacks to import (default: server.stacks_dir, /srv/vigo/stacks)')
    .option('--gitback-base <dir>', "the envoy agent's gitback store on this host (default /var/lib/vigo/swarm/gitback)")
    .option('--json', 'machine-readable output')
    .action(async (o: { source?: string; gitbackBase?: string; json?: boolean }, cmd: Command) => {
      const c = opsContext(cmd);
      await requireSpannerMode('init');
      requireOps(c.opsDir);
      requireUnlocked(c);
      await requireOpsHelper(c.socket);
      const r = await stacksInit({ opsDir: c.opsDir, socket: c.socket, gitbackBase: o.gitbackBase ?? paths.gitbackBase(process.env), env: process.env, now: Math.floor(Date.now() / 1000), source: o.source ?? c.stacksDir });
      if (o.json) return printJson(r);
      const bare = join(dirname(r.bare_repo), `${shortId(basename(r.bare_repo, '.git'))}.git`);
      process.stdout.write(
        `Stacks project founded\nURL: ${r.url}\nProject ID: ${r.project_id}\nSource: ${r.source}\nBare repo: ${bare}\nAuto-imported: ${r.commits} commit, ${r.bytes} bytes\n` +
          "Other ops-puddle members will receive the stacks after the next push\n(landing in Slice 4 — today's init seeds the founder side only).\n",
      );
    });
}
