/** `vigo swarm puddle name set <name>`: sign a name claim through the session helper. */
import type { Command } from 'commander';
import { puddleDir, sessionSigner, signNameClaim, writeNameClaim } from '../../../../../puddle/index.js';
import { formatPublicKey, validateName } from '../../../../../trust/index.js';

export function registerNameSet(name: Command): void {
  name
    .command('set <name>')
    .description('Claim a friendly name (1–64 of A-Z a-z 0-9 . _ -, no leading dot, not 64 hex); puddle must be unlocked')
    .action(async (n: string) => {
      validateName(n);
      const dir = puddleDir(process.env);
      const signer = await sessionSigner(dir);
      const claim = await signNameClaim(signer, n, Math.floor(Date.now() / 1000));
      writeNameClaim(dir, claim);
      process.stdout.write(`Name claimed: ${n}\n  Pubkey: ${formatPublicKey(signer.publicKey)}\n  URLs:   gitback://${n}/<handle>\n`);
    });
}
