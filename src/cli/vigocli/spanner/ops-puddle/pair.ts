/** `vigocli spanner ops-puddle pair`: mint a single-use 5-minute pair code */
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { opsPair } from '../../../../spanner/index-ops.js';
import { printJson } from '../../output.js';
import { resolveTarget } from '../../session.js';
import { opsContext, requireUnlocked } from './common.js';

export function registerOpsPair(ops: Command): void {
  ops
    .command('pair')
    .description('Mint a single-use pair code (5 minutes) for another vigosrv to join the ops-puddle')
    .option('--url <https-url>', "this vigosrv's URL as the joining vigosrv reaches it (default: the server vigocli talks to)")
    .option('--json', 'machine-readable output (the code included)')
    .action((o: { url?: string; json?: boolean }, cmd: Command) => {
      const c = opsContext(cmd);
      requireUnlocked(c);
      const url = new URL(o.url ?? resolveTarget().server).origin;
      const r = opsPair(c.opsDir, c.wraps().ops, Date.now(), randomBytes);
      if (o.json) return printJson({ code: r.code, expires_at: new Date(r.expires_at).toISOString(), from: url });
      const at = new Date(r.expires_at).toLocaleTimeString('en-US', { hour12: false, timeZoneName: 'short' });
      process.stdout.write(
        `Pair offer minted (expires ${at}, single-use)\nOn the joining vigosrv, run:\nvigocli spanner ops-puddle join \\\n--from ${url} \\\n--code ${r.code}\n` +
          `(The operator on the joining vigosrv must already have admin\ncredentials for this vigosrv — run \`vigocli auth login --server\n${url}\` first if not.)\n`,
      );
    });
}
