/** `vigocli auth token revoke ID [--json]` — refused from the very next request on. */
import type { Command } from 'commander';
import { call } from '../session.js';
import { printJson } from '../output.js';
import type { TokenView } from './token-list.js';

export function registerTokenRevoke(token: Command): void {
  token
    .command('revoke')
    .argument('<id>', 'the token id `vigocli auth token list` shows (16 hex digits)')
    .description('Revoke an API token; every request with it is refused from now on')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      const r = await call<{ token: TokenView; already: boolean }>('DELETE', `/api/v1/auth/tokens/${encodeURIComponent(id.toLowerCase())}`);
      if (o.json) return printJson(r);
      process.stdout.write(r.already ? `API token ${r.token.id} (${r.token.name}) was already revoked\n` : `Revoked API token ${r.token.id} (${r.token.name}, ${r.token.role})\n`);
    });
}
