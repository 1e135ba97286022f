/** `vigocli spanner bolt remove <bolt-id>`: on the hub, drain a bolt and revoke it (typed confirmation) */
import type { Command } from 'commander';
import { call } from '../../session.js';
import { printJson } from '../../output.js';
import type { DrainResult } from '../types.js';
import { confirmBoltId } from './confirm.js';
import { printDrain } from './drain.js';

export function registerRemove(bolt: Command): void {
  bolt
    .command('remove <bolt-id>')
    .description('Drain and remove a bolt from the spanner configuration (hub only)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      await confirmBoltId(id, `Remove bolt ${id}: its envoys are drained to the other live bolts by pattern, then the hub revokes it (for good: it admits and owns nothing after).`);
      const r = await call<{ bolt_id: string; drained: DrainResult; revoked_at: string }>('POST', '/api/v1/spanner/bolt/remove', { bolt_id: id });
      if (o.json) return printJson(r);
      printDrain(r.drained);
      process.stdout.write(`Revoked bolt ${r.bolt_id} at ${r.revoked_at}; the revocation gossips to every bolt.\n`);
    });
}
