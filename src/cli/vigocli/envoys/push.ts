/** `vigocli envoys push [<id|hostname>]` — check in now, through the stream. */
import type { Command } from 'commander';
import { call } from '../session.js';
import { printJson } from '../output.js';

export function registerPush(envoys: Command): void {
  envoys
    .command('push')
    .argument('[envoy]', 'envoy id or hostname (default: every connected envoy)')
    .description('Tell envoys to check in (and converge) now')
    .option('--json', 'machine-readable output')
    .action(async (id: string | undefined, o: { json?: boolean }) => {
      const r = await call<{ pushed: number; at: string }>('POST', id ? `/api/v1/envoys/${encodeURIComponent(id)}/push` : '/api/v1/push');
      if (o.json) return printJson(r);
      process.stdout.write(`Pushed a check-in to ${r.pushed} envoy(s) at ${r.at}\n`);
    });
}
