/**
 * `vigocli config publish [--bolt-only] [--json]`. It reads GET /api/v1/spanner/status
 * first: a standalone server validates, swaps `.live/` and reloads, as it always has; a bolt
 * of a spanner commits the stacks into the ops-puddle's `stacks` gitback project and waits
 * until every bolt's stacks watcher serves the new head (publish-spanner.ts, docs/spanner.md
 * "Publish in spanner mode"). `--bolt-only` publishes to this bolt alone, the standalone way.
 */
import type { Command } from 'commander';
import { call } from '../session.js';
import { printJson } from '../output.js';
import { spannerPublish, type SpannerPublishStatus } from './publish-spanner.js';

export function registerPublish(config: Command): void {
  config
    .command('publish')
    .description('Validate the stacks, make them live atomically, and reload (envoys pick them up at check-in)')
    .option('--bolt-only', 'on a bolt of a spanner: publish to this bolt only (the other bolts keep their own config)')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean; boltOnly?: boolean }) => {
      const s = await call<SpannerPublishStatus>('GET', '/api/v1/spanner/status');
      const tty = process.stderr.isTTY === true;
      if (s.mode !== 'standalone' && o.boltOnly !== true) {
        const r = await spannerPublish({ call, status: s, env: process.env, progress: tty ? (l) => process.stderr.write(`${l}…\n`) : undefined });
        if (o.json) return printJson(r);
        if (!r.changed) {
          return void process.stdout.write(`Nothing to publish: the stacks match the stacks project head ${r.commit.slice(0, 12)} (config version ${r.version} on bolt ${s.bolt_id})\n`);
        }
        process.stdout.write(`Published stacks commit ${r.commit.slice(0, 12)} (${r.files} files) to the stacks project ${r.project_id.slice(0, 16)}…\n`);
        process.stdout.write(`Config version ${r.version} live on bolt ${s.bolt_id}; all ${r.bolts.length} bolt(s) serve it after ${(r.waited_ms / 1000).toFixed(1)} s:\n`);
        for (const b of r.bolts) process.stdout.write(`  ${b.bolt_id}  config version ${b.config_version ?? '?'}\n`);
        return;
      }
      if (tty) process.stderr.write('validating and publishing the stacks…\n');
      const r = await call<{ version: number; files: number; pushed: number }>('POST', '/api/v1/config/publish');
      if (o.json) return printJson(r);
      const where = s.mode !== 'standalone' ? ` to bolt ${s.bolt_id} only` : '';
      process.stdout.write(`Published config version ${r.version} (${r.files} files)${where}; told ${r.pushed} connected envoy(s) to check in\n`);
    });
}
