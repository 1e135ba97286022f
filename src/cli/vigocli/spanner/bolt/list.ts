/** `vigocli spanner bolt list [--json]`: the admissions roster, one line a bolt */
import type { Command } from 'commander';
import { call } from '../../session.js';
import { printJson, printTable } from '../../output.js';
import type { BoltView } from '../types.js';

export function registerList(bolt: Command): void {
  bolt
    .command('list')
    .description('List all bolts in the admissions roster')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const r = await call<{ spanner_id: string; digest: string; bolts: BoltView[] }>('GET', '/api/v1/spanner/roster');
      if (o.json) return printJson(r);
      printTable(
        ['BOLT', 'PUBKEY', 'HOSTNAME', 'ADMITTED', 'ADMITTED BY', 'STATUS'],
        r.bolts.map((b) => [b.bolt_id, `ed25519:${b.pubkey.slice(0, 16)}…`, b.hostname, b.admitted_at, b.admitted_by, b.status]),
      );
    });
}
