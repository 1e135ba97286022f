/** `vigocli enroll token create [--expires 24h] [--hostname H] [--json]` */
import type { Command } from 'commander';
import { call, resolveTarget } from '../session.js';
import { parseDuration, printJson } from '../output.js';

export function registerTokenCreate(token: Command): void {
  token
    .command('create')
    .description('Mint a one-time enrollment token for a new envoy')
    .option('--expires <duration>', 'how long it stays valid (e.g. 30m, 24h, 7d)', '24h')
    .option('--hostname <name>', 'bind the token to this hostname: it enrolls no other')
    .option('--json', 'machine-readable output')
    .action(async (o: { expires: string; hostname?: string; json?: boolean }) => {
      const r = await call<{ token: string; expires_at: string; ca_fingerprint: string; hostname: string | null }>('POST', '/api/v1/enroll/tokens', {
        expires_in_s: parseDuration(o.expires, '--expires'),
        ...(o.hostname ? { hostname: o.hostname } : {}),
      });
      if (o.json) return printJson(r);
      const bound = r.hostname ? `, enrolls only ${r.hostname}` : '';
      // the token goes to a root-only file or stdin on the envoy, never onto a command line
      process.stdout.write(
        `Enrollment token (single-use, expires ${r.expires_at}${bound}):\n${r.token}\n\n` +
          `On the new envoy, as root, put it in a file only root can read and run:\n` +
          `  vigo agent enroll --server ${resolveTarget().server}${r.hostname ? ` --hostname ${r.hostname}` : ''} --token-file /root/vigo-enroll.token\n` +
          `(or pipe it in with --token-file -, or set VIGO_ENROLL_TOKEN)\n`,
      );
    });
}
