/** `vigo swarm gitback project invite <project_id> --puddle <fp> --role <role> [--expires <Nd>]` */
import type { Command } from 'commander';
import { projectInvite, type InviteOptions } from '../../../../../gitback/index.js';
import { cliContext } from '../context.js';

export function registerInvite(p: Command): void {
  p.command('invite <project_id>')
    .description('Mint a child token for another puddle and print the JSON invitation')
    .option('--puddle <fp>', "recipient's puddle pubkey (64 hex or ed25519:<hex>)")
    .option('--fleet <fp>', 'alias of --puddle (the reference page’s example uses it)')
    .requiredOption('--role <role>', 'admin | member')
    .option('--expires <Nd>', 'expiry in days (30d or 30); default none')
    .action(async (pid: string, o: InviteOptions) => projectInvite(cliContext(), pid, o));
}
