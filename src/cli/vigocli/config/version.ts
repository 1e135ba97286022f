/** `vigocli config version [--json]` */
import type { Command } from 'commander';
import { call } from '../session.js';
import { printJson } from '../output.js';

export function registerVersion(config: Command): void {
  config
    .command('version')
    .description('Show the config version the server serves (rises on every reload)')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const r = await call<{ version: number; loaded: boolean; live_error?: string | null }>('GET', '/api/v1/config/version');
      if (o.json) return printJson(r);
      process.stdout.write(`${r.version}${r.loaded ? '' : r.live_error ? ' (nothing loaded)' : ' (nothing published yet)'}\n`);
      if (r.live_error) process.stderr.write(`error: ${r.live_error}\n`);
    });
}
