/** `vigocli spanner bolt reassign <envoy-id> --from <bolt> --to <bolt>`: move one envoy, no re-enrollment */
import type { Command } from 'commander';
import { call } from '../../session.js';
import { printJson } from '../../output.js';
import type { MovedEnvoy } from '../types.js';

export function registerReassign(bolt: Command): void {
  bolt
    .command('reassign <envoy-id>')
    .description('Move an envoy to a different bolt without re-enrollment')
    .requiredOption('--from <bolt-id>', 'the bolt that owns the envoy now')
    .requiredOption('--to <bolt-id>', 'the bolt that takes it')
    .option('--json', 'machine-readable output')
    .action(async (envoy: string, o: { from: string; to: string; json?: boolean }) => {
      const r = await call<MovedEnvoy>('POST', '/api/v1/spanner/reassign', { envoy_id: envoy, from: o.from, to: o.to });
      if (o.json) return printJson(r);
      process.stdout.write(`Reassigned envoy ${r.hostname} (${r.envoy_id}) from ${o.from} to ${r.to} with ${r.runs} run(s)\nIt reconnects to ${r.to} on its next check-in.\n`);
    });
}
