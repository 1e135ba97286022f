/** `vigocli swarm puddle list [--json]`: every puddle the fleet reports, its name, envoys and health. */
import type { Command } from 'commander';
import { printJson, printTable } from '../output.js';
import { fetchPuddleFleet, shortKey } from './fleet.js';

export function registerPuddleList(p: Command): void {
  p.command('list')
    .description('List the puddles the envoys report')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const v = await fetchPuddleFleet();
      if (o.json) return printJson(v);
      if (v.puddles.length === 0) {
        process.stdout.write('No puddles reported yet (an envoy reports its users\' puddles when it checks in).\n');
        return;
      }
      printTable(
        ['NAME', 'PUBKEY', 'ENVOYS', 'UNLOCKED', 'USERS', 'HEALTH'],
        v.puddles.map((x) => [x.name, shortKey(x.pubkey), x.envoys.length, x.envoys.filter((e) => e.unlocked).length, x.users.join(','), x.health]),
      );
    });
}
