/** `vigocli auth token list [--json]` — every API token; never a token's secret. */
import type { Command } from 'commander';
import { call } from '../session.js';
import { printJson, printTable } from '../output.js';

export interface TokenView {
  id: string;
  name: string;
  role: string;
  created_at: string;
  expires_at: string | null;
  status: string;
}

export function registerTokenList(token: Command): void {
  token
    .command('list')
    .description('List API tokens (id, name, role, expiry, status); the tokens themselves are never shown')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const r = await call<{ tokens: TokenView[] }>('GET', '/api/v1/auth/tokens');
      if (o.json) return printJson(r);
      printTable(
        ['ID', 'NAME', 'ROLE', 'STATUS', 'CREATED', 'EXPIRES'],
        r.tokens.map((t) => [t.id, t.name, t.role, t.status, t.created_at, t.expires_at ?? 'never']),
      );
    });
}
