/** `vigocli envoys list [--status S] [--spanner] [--json]` */
import type { Command } from 'commander';
import { call } from '../session.js';
import { ago, printJson, printTable, reportMissing } from '../output.js';
import type { MergedAnswer } from '../spanner/types.js';
import type { EnvoyView } from './types.js';

export function registerList(envoys: Command): void {
  envoys
    .command('list')
    .description('List enrolled envoys with their status')
    .option('--status <status>', 'only this status (converged, relapsed, diverged, failed, stale-policy, offline, no-data, revoked)')
    .option('--spanner', 'every live bolt\'s envoys, merged (names the bolts that did not answer)')
    .option('--json', 'machine-readable output')
    .action(async (o: { status?: string; spanner?: boolean; json?: boolean }) => {
      if (o.spanner) {
        const m = await call<MergedAnswer & { envoys: (EnvoyView & { bolt_id: string })[] }>('GET', '/api/v1/spanner/merged/envoys');
        const envoys = m.envoys.filter((e) => !o.status || e.status === o.status);
        if (o.json) return printJson({ ...m, envoys });
        printTable(['HOSTNAME', 'ID', 'BOLT', 'STATUS', 'IP', 'LAST SEEN'], envoys.map((e) => [e.hostname, e.id, e.bolt_id, e.status, e.ip, ago(e.last_seen)]));
        return reportMissing(m);
      }
      const q = o.status ? `?status=${encodeURIComponent(o.status)}` : '';
      const r = await call<{ envoys: EnvoyView[] }>('GET', `/api/v1/envoys${q}`);
      if (o.json) return printJson(r);
      printTable(
        ['HOSTNAME', 'ID', 'STATUS', 'IP', 'LAST SEEN', 'POLICY', 'LAST RUN'],
        r.envoys.map((e) => [e.hostname, e.id, e.status, e.ip, ago(e.last_seen), e.policy_version, e.last_run_status]),
      );
    });
}
