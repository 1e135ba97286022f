/** `vigocli auth token create [--name N] [--role R] [--expires DURATION] [--json]` */
import type { Command } from 'commander';
import { call } from '../session.js';
import { parseDuration, printJson } from '../output.js';
import { hostname, userInfo } from 'node:os';
import { VigoError } from '../../../platform/errors.js';

const ROLES = ['admin', 'viewer', 'compliance'];

/** Who asked, as a token name: user@host with what a name may not hold replaced. */
function defaultName(): string {
  return `${userInfo().username}@${hostname()}`.replace(/[^A-Za-z0-9._@-]/g, '-').slice(0, 64);
}

export function registerTokenCreate(token: Command): void {
  token
    .command('create')
    .description('Mint an API token; it is shown this once (only its SHA-256 is kept)')
    .option('--name <name>', 'who or what the token is for (letters, digits, . _ @ -; default: you@this-host)')
    .option('--role <role>', `one of ${ROLES.join(', ')}`, 'viewer')
    .option('--expires <duration>', 'lifetime (e.g. 12h, 30d); default: never expires')
    .option('--json', 'machine-readable output')
    .action(async (o: { name?: string; role: string; expires?: string; json?: boolean }) => {
      const name = o.name ?? defaultName();
      if (!ROLES.includes(o.role)) throw new VigoError('E_BAD_ROLE', `--role: '${o.role}' is not a role (one of ${ROLES.join(', ')})`);
      const body = { name, role: o.role, ...(o.expires !== undefined ? { expires_in_s: parseDuration(o.expires, '--expires') } : {}) };
      const r = await call<{ token: string; id: string; name: string; role: string; expires_at: string | null }>('POST', '/api/v1/auth/tokens', body);
      if (o.json) return printJson(r);
      process.stdout.write(`API token ${r.id} for ${r.name} (${r.role}, ${r.expires_at ? `expires ${r.expires_at}` : 'never expires'}):\n${r.token}\n\nIt is shown only now; store it safely. Revoke it with: vigocli auth token revoke ${r.id}\n`);
    });
}
