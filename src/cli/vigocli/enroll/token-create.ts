/** `vigocli enroll token create [--expires 24h] [--json]` */
import type { Command } from 'commander';
import { call, resolveTarget } from '../session.js';
import { parseDuration, printJson } from '../output.js';

export function registerTokenCreate(token: Command): void {
  token
    .command('create')
    .description('Mint a one-time enrollment token for a new envoy')
    .option('--expires <duration>', 'how long it stays valid (e.g. 30m, 24h, 7d)', '24h')
    .option('--json', 'machine-readable output')
    .action(async (o: { expires: string; json?: boolean }) => {
      const r = await call<{ token: string; expires_at: string; ca_fingerprint: string }>('POST', '/api/v1/enroll/tokens', { expires_in_s: parseDuration(o.expires, '--expires') });
      if (o.json) return printJson(r);
      process.stdout.write(
        `Enrollment token (single-use, expires ${r.expires_at}):\n${r.token}\n\nOn the new envoy, run:\n  vigo agent enroll --server ${resolveTarget().server} --token ${r.token}\n`,
      );
    });
}
