/** `vigocli runs show <run-id> [--json]`: one run, its per-resource summary, and what its stored report lacks. */
import type { Command } from 'commander';
import { call } from '../session.js';
import { printJson, printTable } from '../output.js';
import type { RunRow } from '../envoys/types.js';
import type { RunSummary } from '../../../wire/run-report.js';

export interface RunDetail extends RunRow {
  summary: RunSummary | null;
  report: { resources?: { id: string; type: string; status: string; message?: string }[] };
}

export function registerShow(runs: Command): void {
  runs
    .command('show')
    .argument('<run-id>', 'a run id (`vigocli runs list` shows them)')
    .description('Show one run: counts by outcome, failing resources, and whether its stored report is whole')
    .option('--json', 'machine-readable output (the summary and the stored report)')
    .action(async (id: string, o: { json?: boolean }) => {
      const { run } = await call<{ run: RunDetail }>('GET', `/api/v1/runs/${encodeURIComponent(id)}`);
      if (o.json) return printJson({ run });
      const s = run.summary;
      const listed = run.report.resources?.length ?? 0;
      process.stdout.write(
        [
          `Run:         ${run.run_id}`,
          `Envoy:       ${run.hostname ?? run.envoy_id ?? '-'}`,
          `Started:     ${run.started_at} (${run.duration_ms} ms)`,
          `Status:      ${run.status} (policy version ${run.policy_version}, ${run.configcrates} configcrates)`,
          `Resources:   ${s ? s.resources : listed}: ${run.ok} ok, ${run.changed} changed, ${run.failed} failed`,
          `Report:      ${run.truncated ?? 'whole'} (${listed} resources stored${run.report_bytes === null ? '' : `, ${run.report_bytes} bytes sent`})`,
          '',
          `Failing resources${s && s.failing_omitted > 0 ? ` (${s.failing_omitted} more not listed)` : ''}:`,
        ].join('\n') + '\n',
      );
      const failing = s?.failing ?? [];
      // a NAME column only when a failing resource has a name
      const named = failing.some((f) => f.name !== undefined);
      printTable(
        named ? ['ID', 'NAME', 'TYPE', 'MESSAGE'] : ['ID', 'TYPE', 'MESSAGE'],
        failing.map((f) => (named ? [f.id, f.name ?? '-', f.type, f.message] : [f.id, f.type, f.message])),
      );
    });
}
