/** `vigocli auth status [--json]` */
import type { Command } from 'commander';
import { api } from '../../../wire/rest-client.js';
import { resolveTarget } from '../session.js';
import { printJson } from '../output.js';

export function registerStatus(auth: Command): void {
  auth
    .command('status')
    .description('Show which server and identity vigocli uses, and check the token')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const t = resolveTarget();
      const who = await api<{ name: string; role: string; expires_at: string | null }>(t, 'GET', '/api/v1/auth/whoami');
      const out = { server: t.server, source: t.source, name: who.name, role: who.role, expires_at: who.expires_at };
      if (o.json) return printJson(out);
      process.stdout.write(`Server: ${out.server}\nIdentity: ${out.name} (${out.role})\nFrom: ${out.source}\nExpires: ${out.expires_at ?? 'never'}\n`);
    });
}
