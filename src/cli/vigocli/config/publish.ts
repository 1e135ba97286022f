/**
 * `vigocli config publish [--json]` — validate, swap `.live/`, reload. It reads
 * GET /api/v1/spanner/status first: a standalone server publishes as it always has; a bolt
 * of a spanner must publish through the ops-puddle's `stacks` gitback project (so every
 * bolt serves the same config), which issue 15 builds — until then it is refused, and
 * nothing is written, unless `--bolt-only` says the operator means this bolt alone (each
 * bolt then serves the stacks published to it, as a standalone server does).
 */
import type { Command } from 'commander';
import { VigoError } from '../../../platform/errors.js';
import { call } from '../session.js';
import { printJson } from '../output.js';

export function registerPublish(config: Command): void {
  config
    .command('publish')
    .description('Validate the stacks, make them live atomically, and reload (envoys pick them up at check-in)')
    .option('--bolt-only', 'on a bolt of a spanner: publish to this bolt only (the other bolts keep their own config)')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean; boltOnly?: boolean }) => {
      const s = await call<{ mode: string; spanner_id?: string; bolt_id?: string }>('GET', '/api/v1/spanner/status');
      if (s.mode !== 'standalone' && o.boltOnly !== true) {
        throw new VigoError('E_SPANNER_PUBLISH', `this server is bolt ${s.bolt_id} (${s.mode}) of spanner ${s.spanner_id}: a spanner-mode publish commits the stacks into the ops-puddle's stacks gitback project so every bolt reloads the same config, and that path is not built yet (issue 15); nothing was published`, {
          hint: 'to publish to this bolt alone (each bolt keeps its own config), run `vigocli config publish --bolt-only`; the spanner-wide publish comes with `vigocli spanner stacks init` (issue 15)',
        });
      }
      if (process.stderr.isTTY) process.stderr.write('validating and publishing the stacks…\n');
      const r = await call<{ version: number; files: number; pushed: number }>('POST', '/api/v1/config/publish');
      if (o.json) return printJson(r);
      const where = s.mode !== 'standalone' ? ` to bolt ${s.bolt_id} only` : '';
      process.stdout.write(`Published config version ${r.version} (${r.files} files)${where}; told ${r.pushed} connected envoy(s) to check in\n`);
    });
}
