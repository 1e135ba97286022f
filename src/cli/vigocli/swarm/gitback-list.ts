/** `vigocli swarm gitback list [--json]`: every project the fleet reports, one line each. */
import type { Command } from 'commander';
import { printJson, printTable } from '../output.js';
import { fetchGitbackFleet, shortKey } from './fleet.js';

export function registerGitbackList(g: Command): void {
  g.command('list')
    .description('List the gitback projects the envoys report')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const v = await fetchGitbackFleet();
      if (o.json) return printJson(v);
      if (v.projects.length === 0) {
        process.stdout.write('No gitback projects reported yet (an envoy reports the projects it holds when it checks in).\n');
        return;
      }
      printTable(
        ['HANDLE', 'PROJECT', 'FOUNDER', 'SCOPE', 'HOSTS', 'DIVERGENT'],
        v.projects.map((p) => [
          p.handle,
          `${p.project_id.slice(0, 12)}…`,
          p.founder_name ?? shortKey(p.founder),
          p.scope,
          `${p.hosts.filter((h) => !h.stale).length}/${p.hosts.length}`,
          p.divergent_refs.length === 0 ? '-' : p.divergent_refs.join(','),
        ]),
      );
    });
}
