/** `vigocli envoys list [--status S] [--json]` */
import type { Command } from 'commander';
import { call } from '../session.js';
import { ago, printJson, printTable } from '../output.js';
import type { EnvoyView } from './types.js';

export function registerList(envoys: Command): void {
  envoys
    .command('list')
    .description('List enrolled envoys with their status')
    .option('--status <status>', 'only this status (converged, relapsed, diverged, failed, stale-policy, offline, no-data, revoked)')
    .option('--json', 'machine-readable output')
    .action(async (o: { status?: string; json?: boolean }) => {
      const q = o.status ? `?status=${encodeURIComponent(o.status)}` : '';
      const r = await call<{ envoys: EnvoyView[] }>('GET', `/api/v1/envoys${q}`);
      if (o.json) return printJson(r);
      printTable(
        ['HOSTNAME', 'ID', 'STATUS', 'IP', 'LAST SEEN', 'POLICY', 'LAST RUN'],
        r.envoys.map((e) => [e.hostname, e.id, e.status, e.ip, ago(e.last_seen), e.policy_version, e.last_run_status]),
      );
    });
}
