/** `vigocli spanner bolt invite [--ttl 24h] [--out PATH]`: a signed single-use invite bundle */
import type { Command } from 'commander';
import { writeFileAtomic } from '../../../../platform/atomic.js';
import { call } from '../../session.js';
import { parseDuration, printJson } from '../../output.js';

interface Invite {
  bundle: string;
  expires_at: string;
  spanner_id: string;
  peer_addr: string;
}

export function registerInvite(bolt: Command): void {
  bolt
    .command('invite')
    .description('Mint a signed single-use invite bundle authorizing another server to join this spanner')
    .option('--ttl <duration>', 'how long the bundle stays valid (e.g. 30m, 24h, 7d)', '24h')
    .option('--out <path>', 'write the bundle to this file (mode 0600) instead of stdout')
    .option('--json', 'machine-readable output (the bundle included)')
    .action(async (o: { ttl: string; out?: string; json?: boolean }) => {
      const r = await call<Invite>('POST', '/api/v1/spanner/bolt/invite', { ttl_s: parseDuration(o.ttl, '--ttl') });
      if (o.out) {
        writeFileAtomic(o.out, r.bundle + '\n', { mode: 0o600 });
        if (o.json) return printJson({ ...r, bundle: undefined, out: o.out });
        return void process.stdout.write(`Invite for spanner ${r.spanner_id} written to ${o.out} (mode 0600), expires ${r.expires_at}\nOn the joining server (with the file copied there): vigocli spanner bolt join --from https://${r.peer_addr} --code @${o.out}\n`);
      }
      if (process.stdout.isTTY) process.stderr.write('warning: the invite bundle is a secret: whoever holds it can join a server to this spanner once, until it expires\n');
      if (o.json) return printJson(r);
      process.stdout.write(r.bundle + '\n');
    });
}
