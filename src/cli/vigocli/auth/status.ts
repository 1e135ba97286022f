/** `vigocli auth status [--json]`: the server in use and every saved login, each checked */
import type { Command } from 'commander';
import { api } from '../../../wire/rest-client.js';
import { resolveTarget, savedLogins } from '../session.js';
import { printJson, printTable } from '../output.js';

interface Who {
  name: string;
  role: string;
  expires_at: string | null;
}

export function registerStatus(auth: Command): void {
  auth
    .command('status')
    .description('Show which server and identity vigocli uses, check the token, and list every saved login')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const t = resolveTarget();
      const who = await api<Who>(t, 'GET', '/api/v1/auth/whoami');
      const logins = await Promise.all(
        savedLogins().map(async (l, i) => {
          const base = { server: l.server, default: i === 0, saved_at: new Date(l.saved_at).toISOString(), ca_fingerprint: l.ca_fingerprint };
          if (l.server === t.server && t.source === 'login') return { ...base, name: who.name, role: who.role, expires_at: who.expires_at, error: null };
          try {
            const w = await api<Who>({ server: l.server, token: l.token, ca: l.ca }, 'GET', '/api/v1/auth/whoami');
            return { ...base, name: w.name, role: w.role, expires_at: w.expires_at, error: null };
          } catch (e) {
            return { ...base, name: null, role: null, expires_at: null, error: e instanceof Error ? e.message : String(e) };
          }
        }),
      );
      const out = { server: t.server, source: t.source, name: who.name, role: who.role, expires_at: who.expires_at, logins };
      if (o.json) return printJson(out);
      process.stdout.write(`Server: ${out.server}\nIdentity: ${out.name} (${out.role})\nFrom: ${out.source}\nExpires: ${out.expires_at ?? 'never'}\n`);
      if (logins.length > 0) {
        process.stdout.write('\nSaved logins (the newest is the default):\n');
        printTable(['SERVER', 'IDENTITY', 'ROLE', 'DEFAULT', 'SAVED', 'CHECK'], logins.map((l) => [l.server, l.name, l.role, l.default ? 'yes' : '', l.saved_at, l.error ?? 'ok']));
      }
    });
}
