/** `vigocli swarm puddle show <name|pubkey> [--json]`: one puddle, envoy by envoy. */
import type { Command } from 'commander';
import { printJson, printTable } from '../output.js';
import { fetchPuddleFleet, findPuddle } from './fleet.js';

export function registerPuddleShow(p: Command): void {
  p.command('show')
    .argument('<puddle>', 'its uncontested name, its pubkey, or a unique pubkey prefix')
    .description('Show one puddle: name, users, and each envoy holding it')
    .option('--json', 'machine-readable output')
    .action(async (arg: string, o: { json?: boolean }) => {
      const x = findPuddle(await fetchPuddleFleet(), arg);
      if (o.json) return printJson(x);
      process.stdout.write([`Puddle:   ${x.name}`, `Pubkey:   ed25519:${x.pubkey}`, `Users:    ${x.users.join(', ') || '-'}`, `Health:   ${x.health}`, '', 'Envoys:'].join('\n') + '\n');
      printTable(
        ['HOSTNAME', 'ENVOY', 'USER', 'UNLOCKED', 'PAIR', 'STATE'],
        x.envoys.map((e) => [e.hostname, e.envoy_id, e.user, e.unlocked ? 'yes' : 'no', e.pair_pending ? 'pending' : '-', e.stale ? 'stale' : 'reporting']),
      );
    });
}
