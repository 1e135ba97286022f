/** `vigocli swarm gitback status [--json]`: projects, hosts, divergent refs, envelopes, participants. */
import type { Command } from 'commander';
import { printJson } from '../output.js';
import { fetchGitbackFleet, gitbackStatus } from './fleet.js';

export function registerGitbackStatus(g: Command): void {
  g.command('status')
    .description('Fleet-wide gitback summary: projects, hosts, divergent refs, envelopes, participants')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const s = gitbackStatus(await fetchGitbackFleet());
      if (o.json) return printJson(s);
      const lines = [
        `Gitback fleet (as of ${s.generated_at})`,
        `  Projects:      ${s.projects}`,
        `  Hosts:         ${s.hosts}${s.stale_hosts > 0 ? ` (${s.stale_hosts} stale)` : ''}`,
        `  Participants:  ${s.participants} puddle(s)`,
        `  Envelopes:     ${s.revokes} revoke(s), ${s.leaves} leave(s)`,
      ];
      if (s.unheaded.length > 0) {
        lines.push(`  Unnamed:       ${s.unheaded.length} replica set(s) of projects no envoy's users hold`);
        for (const u of s.unheaded) lines.push(`    ${u.project_id.slice(0, 12)}… on ${u.hosts.join(', ')}`);
      }
      if (s.divergent.length === 0) lines.push('  Divergent:     none');
      else {
        lines.push(`  Divergent:     ${s.divergent.length} project(s)`);
        for (const d of s.divergent) lines.push(`    ${d.handle} (${d.project_id.slice(0, 12)}…): ${d.refs.join(', ')}`);
        lines.push('', 'Inspect one with `vigocli swarm gitback show <handle>`.');
      }
      process.stdout.write(lines.join('\n') + '\n');
    });
}
