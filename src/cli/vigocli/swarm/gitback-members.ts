/** `vigocli swarm gitback members [project] [--json]`: each project's founder and members, named from the fleet name map. */
import type { Command } from 'commander';
import { printJson, printTable } from '../output.js';
import { fetchGitbackFleet, fetchNameMap, memberRows } from './fleet.js';

export function registerGitbackMembers(g: Command): void {
  g.command('members')
    .argument('[project]', 'project id, a unique id prefix, or a handle (default: every project)')
    .description("List projects' founders and members")
    .option('--json', 'machine-readable output')
    .action(async (project: string | undefined, o: { json?: boolean }) => {
      const [view, names] = await Promise.all([fetchGitbackFleet(), fetchNameMap()]);
      const rows = memberRows(view, names, project);
      if (o.json) return printJson({ members: rows });
      printTable(['HANDLE', 'PUBKEY', 'NAME', 'ROLE'], rows.map((r) => [r.handle, `ed25519:${r.pubkey}`, r.name, r.founder ? 'founder' : 'member']));
    });
}
