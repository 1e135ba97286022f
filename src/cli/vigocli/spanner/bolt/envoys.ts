/** `vigocli spanner bolt envoys <bolt-id> [--json]`: the envoys a bolt manages */
import type { Command } from 'commander';
import { call } from '../../session.js';
import { ago, printJson, printTable } from '../../output.js';
import type { BoltEnvoy } from '../types.js';

export function registerEnvoys(bolt: Command): void {
  bolt
    .command('envoys')
    .argument('<bolt-id>', 'the bolt (see `vigocli spanner bolt list`)')
    .description('List all envoys managed by a specific bolt')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      const r = await call<{ bolt_id: string; envoys: BoltEnvoy[] }>('GET', `/api/v1/spanner/bolts/${encodeURIComponent(id)}/envoys`);
      if (o.json) return printJson(r);
      printTable(
        ['HOSTNAME', 'ID', 'IP', 'REVOKED', 'LAST SEEN', 'STATUS'],
        r.envoys.map((e) => [e.hostname, e.id, e.ip, e.revoked ? 'yes' : 'no', ago(e.last_seen), e.status]),
      );
    });
}
