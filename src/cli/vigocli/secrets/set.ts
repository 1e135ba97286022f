/** `vigocli secrets set NAME [--value V]` (value from stdin when --value is absent) */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { setSecret } from '../../../server/index-admin.js';
import { VigoError } from '../../../platform/errors.js';
import { secretsFlags, secretsFrom, type SecretsOpts } from './common.js';

export function registerSet(secrets: Command): void {
  secretsFlags(
    secrets
      .command('set')
      .argument('<name>', 'secret name')
      .description('Store a secret (AES-256-GCM); the value is read from stdin unless --value is given')
      .option('--value <value>', 'the value (visible in shell history; prefer stdin)'),
  ).action((name: string, o: SecretsOpts & { value?: string }) => {
    let value: Buffer;
    if (o.value !== undefined) value = Buffer.from(o.value, 'utf8');
    else {
      if (process.stdin.isTTY) throw new VigoError('E_NO_VALUE', 'no value given', { hint: 'pipe it in: printf %s "$VALUE" | vigocli secrets set NAME' });
      value = readFileSync(0);
    }
    const p = secretsFrom(o);
    setSecret(p, name, value, Date.now(), p.windowMs);
    process.stdout.write(`Stored secret ${name} (${value.length} bytes)\n`);
  });
}
