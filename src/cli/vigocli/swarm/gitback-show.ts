/** `vigocli swarm gitback show <project_id|handle> [--json]`: a project's refs and a per-host breakdown. */
import type { Command } from 'commander';
import { ago, printJson, printTable } from '../output.js';
import { fetchGitbackFleet, findProject, hostState, projectDetail, shortKey } from './fleet.js';

export function registerGitbackShow(g: Command): void {
  g.command('show')
    .argument('<project>', 'project id, a unique id prefix, or a handle')
    .description("Show one project: its refs, and each host's tips")
    .option('--json', 'machine-readable output')
    .action(async (arg: string, o: { json?: boolean }) => {
      const d = projectDetail(findProject(await fetchGitbackFleet(), arg));
      if (o.json) return printJson(d);
      const head = [
        `Project:       ${d.handle}`,
        ...(d.friendly_url ? [`URL:           ${d.friendly_url}`, `Canonical URL: ${d.url}`] : [`URL:           ${d.url}`]),
        `Founder:       ed25519:${d.founder}${d.founder_name ? ` (${d.founder_name})` : ''}`,
        `Scope:         ${d.scope}`,
        `Members:       ${d.members.length}`,
        `Envelopes:     ${d.revokes} revoke(s), ${d.leaves} leave(s)`,
        `Divergent:     ${d.divergent_refs.length === 0 ? 'none' : d.divergent_refs.join(', ')}`,
        '',
        'Refs:',
      ];
      process.stdout.write(head.join('\n') + '\n');
      const holders = d.hosts.filter((h) => !h.stale).length;
      printTable(
        ['REF', 'TIP', 'HOLDERS', 'STATE'],
        d.refs.map((r) => {
          const same = d.hosts.filter((h) => !h.stale && r.tip !== null && r.hosts[h.envoy_id] === r.tip).length;
          return [r.ref, r.tip?.slice(0, 12) ?? '-', `${same}/${holders}`, r.divergent ? 'divergent' : 'in sync'];
        }),
      );
      process.stdout.write('\nHosts:\n');
      printTable(
        ['HOSTNAME', 'ENVOY', 'STATE', 'LAST SEEN', 'REPO', 'TIPS'],
        d.hosts.map((h) => {
          const off = d.refs.filter((r) => r.hosts[h.envoy_id] !== r.tip).map((r) => `${r.ref}=${r.hosts[h.envoy_id]?.slice(0, 12) ?? 'missing'}`);
          return [h.hostname, h.envoy_id, hostState(h), ago(h.last_seen), h.bare_repo ? `${Math.ceil(h.bare_repo_bytes / 1024)} KiB` : 'none', off.length === 0 ? 'match' : off.join(' ')];
        }),
      );
      if (d.hosts.length === 0) process.stdout.write(`No host reports ${d.handle} (founder ${shortKey(d.founder)}).\n`);
    });
}
