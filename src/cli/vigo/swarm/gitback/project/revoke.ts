/** `vigo swarm gitback project revoke <project_id> --token-id <hex> [--reason <text>] [--force]` */
import type { Command } from 'commander';
import { projectRevoke } from '../../../../../gitback/index.js';
import { cliContext } from '../context.js';

export function registerRevoke(p: Command): void {
  p.command('revoke <project_id>')
    .description('Admin only: queue a revocation for a previously-issued token')
    .requiredOption('--token-id <hex>', '64-hex token id')
    .option('--reason <text>', 'human-readable reason captured in the envelope')
    .option('--force', 'revoke even a token of your own chain (locks you out of the project)')
    .action(async (pid: string, o: { tokenId: string; reason?: string; force?: boolean }) => projectRevoke(cliContext(), pid, o));
}
