/** `vigocli envoys revoke <id|hostname>` */
import type { Command } from 'commander';
import { call } from '../session.js';
import { printJson } from '../output.js';
import type { EnvoyView } from './types.js';

export function registerRevoke(envoys: Command): void {
  envoys
    .command('revoke')
    .argument('<envoy>', 'envoy id, or a hostname held by one envoy')
    .description("Revoke an envoy: its check-ins are refused from now on (it must enroll again)")
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      const r = await call<{ envoy: EnvoyView; already: boolean }>('POST', `/api/v1/envoys/${encodeURIComponent(id)}/revoke`);
      if (o.json) return printJson(r);
      process.stdout.write(r.already ? `Envoy ${r.envoy.hostname} (${r.envoy.id}) was already revoked\n` : `Revoked envoy ${r.envoy.hostname} (${r.envoy.id}); its check-ins are now refused\n`);
    });
}
