/** `vigocli runs list [--envoy E] [--status S] [--limit N] [--spanner] [--json]` */
import type { Command } from 'commander';
import { call } from '../session.js';
import { printJson, printTable, reportMissing } from '../output.js';
import type { MergedAnswer } from '../spanner/types.js';
import type { RunRow as Run } from '../envoys/types.js';

export function registerList(runs: Command): void {
  runs
    .command('list')
    .description('Recent convergence runs, newest first')
    .option('--envoy <envoy>', 'only this envoy (id or hostname)')
    .option('--status <status>', 'ok, changed or failed')
    .option('--limit <n>', 'how many', '20')
    .option('--spanner', 'the newest runs of every live bolt, merged (names the bolts that did not answer)')
    .option('--json', 'machine-readable output')
    .action(async (o: { envoy?: string; status?: string; limit: string; spanner?: boolean; json?: boolean }) => {
      if (o.spanner) {
        const m = await call<MergedAnswer & { runs: (Run & { bolt_id: string })[] }>('GET', `/api/v1/spanner/merged/runs?limit=${encodeURIComponent(o.limit)}`);
        const runs = m.runs.filter((x) => (!o.status || x.status === o.status) && (!o.envoy || x.hostname === o.envoy || x.envoy_id === o.envoy));
        if (o.json) return printJson({ ...m, runs });
        printTable(
          ['STARTED', 'RUN', 'ENVOY', 'BOLT', 'STATUS', 'CONFIGCRATES', 'CHANGED', 'FAILED'],
          runs.map((x) => [x.started_at, x.run_id, x.hostname, x.bolt_id, x.status, x.configcrates, x.changed, x.failed]),
        );
        return reportMissing(m);
      }
      const q = new URLSearchParams({ limit: o.limit });
      if (o.envoy) q.set('envoy', o.envoy);
      if (o.status) q.set('status', o.status);
      const r = await call<{ runs: Run[] }>('GET', `/api/v1/runs?${q.toString()}`);
      if (o.json) return printJson(r);
      printTable(
        ['STARTED', 'RUN', 'ENVOY', 'STATUS', 'POLICY', 'CONFIGCRATES', 'CHANGED', 'FAILED', 'MS', 'REPORT'],
        r.runs.map((x) => [x.started_at, x.run_id, x.hostname, x.status, x.policy_version, x.configcrates, x.changed, x.failed, x.duration_ms, x.truncated ?? 'whole']),
      );
    });
}
