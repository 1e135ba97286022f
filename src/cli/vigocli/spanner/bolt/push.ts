/** `vigocli spanner bolt push <bolt-id> [--envoy-id ID] [--json]`: an immediate check-in for a bolt's envoys */
import type { Command } from 'commander';
import { call } from '../../session.js';
import { printJson } from '../../output.js';

export function registerPush(bolt: Command): void {
  bolt
    .command('push')
    .argument('<bolt-id>', 'the bolt (see `vigocli spanner bolt list`)')
    .description('Trigger immediate check-in for all envoys on a bolt')
    .option('--envoy-id <id>', 'only this envoy (id or hostname)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { envoyId?: string; json?: boolean }) => {
      const r = await call<{ bolt_id: string; pushed: number; envoys: number; at: string }>('POST', `/api/v1/spanner/bolts/${encodeURIComponent(id)}/push`, o.envoyId ? { envoy_id: o.envoyId } : {});
      if (o.json) return printJson(r);
      process.stdout.write(`Pushed a check-in to ${r.pushed} of ${r.envoys} envoy(s) on ${r.bolt_id} at ${r.at}${r.pushed < r.envoys ? ` (${r.envoys - r.pushed} hold no check-in stream now: \`vigocli spanner bolt envoys ${r.bolt_id}\`)` : ''}\n`);
    });
}
