/** `vigocli envoys show <id|hostname> [--json]` */
import type { Command } from 'commander';
import { call } from '../session.js';
import { ago, printJson, printTable } from '../output.js';
import type { EnvoyView, RunRow } from './types.js';

export function registerShow(envoys: Command): void {
  envoys
    .command('show')
    .argument('<envoy>', 'envoy id, or a hostname held by one envoy')
    .description('Show one envoy and its recent runs')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      const r = await call<{ envoy: EnvoyView & { pubkey_sha256: string; cert_serial: string }; recent_runs: RunRow[] }>('GET', `/api/v1/envoys/${encodeURIComponent(id)}`);
      if (o.json) return printJson(r);
      const e = r.envoy;
      process.stdout.write(
        [
          `Envoy:       ${e.hostname}`,
          `ID:          ${e.id}`,
          `Status:      ${e.status}${e.connected ? ' (stream connected)' : ''}`,
          `IP:          ${e.ip ?? '-'}`,
          `Enrolled:    ${e.enrolled_at}`,
          `Last seen:   ${e.last_seen ?? 'never'} (${ago(e.last_seen)})`,
          `Policy:      version ${e.policy_version ?? '-'}${e.stale_policy ? ` — stale: published version ${e.stale_policy.published_version}, still on ${e.stale_policy.held_version} since ${e.stale_policy.since}` : ''}`,
          ...(e.stale_policy ? [`Why:         ${e.stale_policy.reason}`] : []),
          `Last run:    ${e.last_run_status ?? '-'} at ${e.last_run_at ?? '-'} (consecutive runs with changes: ${e.change_streak})`,
          `Key:         sha256 ${e.pubkey_sha256}`,
          '',
          'Recent runs:',
        ].join('\n') + '\n',
      );
      printTable(
        ['STARTED', 'RUN', 'STATUS', 'POLICY', 'OK', 'CHANGED', 'FAILED', 'MS', 'REPORT'],
        r.recent_runs.map((x) => [x.started_at, x.run_id, x.status, x.policy_version, x.ok, x.changed, x.failed, x.duration_ms, x.truncated ?? 'whole']),
      );
    });
}
