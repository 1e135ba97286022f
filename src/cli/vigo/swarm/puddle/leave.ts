/** `vigo swarm puddle leave [--yes] [--yes-last-copy] [--json]`: remove the puddle from this envoy only. */
import type { Command } from 'commander';
import { formatPuddleLeave, puddleLeave } from '../../../../gitback/index.js';
import { cliContext } from '../gitback/context.js';

export function registerLeave(puddle: Command): void {
  puddle
    .command('leave')
    .description('Remove your puddle and your gitback state from THIS envoy (it lives on on your other envoys)')
    .option('--yes', 'do not ask for the typed confirmation')
    .option('--yes-last-copy', 'leave even when no other envoy is known to hold the puddle (destroys it)')
    .option('--json', 'print the result as JSON')
    .action(async (o: { yes?: boolean; yesLastCopy?: boolean; json?: boolean }) => {
      const r = await puddleLeave(cliContext(), { yes: o.yes === true, yesLastCopy: o.yesLastCopy === true });
      process.stdout.write(o.json === true ? JSON.stringify(r) + '\n' : formatPuddleLeave(r));
    });
}
