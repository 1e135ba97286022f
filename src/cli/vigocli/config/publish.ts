/** `vigocli config publish [--json]` — validate, swap `.live/`, reload. */
import type { Command } from 'commander';
import { call } from '../session.js';
import { printJson } from '../output.js';

export function registerPublish(config: Command): void {
  config
    .command('publish')
    .description('Validate the stacks, make them live atomically, and reload (envoys pick them up at check-in)')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      if (process.stderr.isTTY) process.stderr.write('validating and publishing the stacks…\n');
      const r = await call<{ version: number; files: number; pushed: number }>('POST', '/api/v1/config/publish');
      if (o.json) return printJson(r);
      process.stdout.write(`Published config version ${r.version} (${r.files} files); told ${r.pushed} connected envoy(s) to check in\n`);
    });
}
