/** `vigocli spanner init`: found the spanner here (the founder's self-admit row) */
import type { Command } from 'commander';
import { call } from '../session.js';
import { printJson } from '../output.js';
import type { BoltView } from './types.js';

export function registerInit(spanner: Command): void {
  spanner
    .command('init')
    .description('Found the spanner on this server (write the founder admission row); needs spanner.spanner_id in server.yaml')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const r = await call<{ bolt: BoltView }>('POST', '/api/v1/spanner/init', {});
      if (o.json) return printJson(r);
      const b = r.bolt;
      process.stdout.write(
        `Spanner founded\nBolt:     ${b.bolt_id} (ed25519:${b.pubkey})\nHostname: ${b.hostname}\nPeer:     ${b.peer_addr}\nPatterns: ${b.patterns.join(',')}\n\n` +
          'Invite other servers with `vigocli spanner bolt invite` (here) and `vigocli spanner bolt join` (there).\n',
      );
    });
}
