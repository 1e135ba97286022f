/** `vigocli spanner bolt runs <bolt-id> [--limit N] [--json]`: recent convergence runs on a bolt */
import type { Command } from 'commander';
import { call } from '../../session.js';
import { printJson, printTable } from '../../output.js';
import type { RunRow } from '../../envoys/types.js';

export function registerRuns(bolt: Command): void {
  bolt
    .command('runs')
    .argument('<bolt-id>', 'the bolt (see `vigocli spanner bolt list`)')
    .description('List recent convergence runs on a specific bolt')
    .option('--limit <n>', 'how many (1-1000)', '20')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { limit: string; json?: boolean }) => {
      const r = await call<{ bolt_id: string; runs: RunRow[] }>('GET', `/api/v1/spanner/bolts/${encodeURIComponent(id)}/runs?limit=${encodeURIComponent(o.limit)}`);
      if (o.json) return printJson(r);
      printTable(
        ['STARTED', 'RUN', 'ENVOY', 'STATUS', 'CONFIGCRATES', 'CHANGED', 'FAILED'],
        r.runs.map((x) => [x.started_at, x.run_id, x.hostname, x.status, x.configcrates, x.changed, x.failed]),
      );
    });
}
