/** `vigocli secrets list [--json]` — names only; works on a locked vault. */
import type { Command } from 'commander';
import { listSecrets, unlockedUntil } from '../../../server/index-admin.js';
import { secretsFlags, secretsFrom, type SecretsOpts } from './common.js';
import { printJson } from '../output.js';

export function registerList(secrets: Command): void {
  secretsFlags(secrets.command('list').description('List secret names').option('--json', 'machine-readable output')).action(
    (o: SecretsOpts & { json?: boolean }) => {
      const p = secretsFrom(o);
      const names = listSecrets(p);
      const until = unlockedUntil(p, Date.now());
      if (o.json) return printJson({ secrets: names, unlocked_until: until ? new Date(until).toISOString() : null });
      for (const n of names) process.stdout.write(`${n}\n`);
      process.stderr.write(`${names.length} secret(s); vault ${until ? `unlocked until ${new Date(until).toISOString()}` : 'locked'}\n`);
    },
  );
}
