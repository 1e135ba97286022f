/** `vigocli spanner bolt show <bolt-id> [--json]`: one bolt's compliance breakdown, asked of any live bolt */
import type { Command } from 'commander';
import { callRaw } from '../../session.js';
import { ago, printJson, printTable } from '../../output.js';
import type { BoltShow, BoltStacks } from '../types.js';

/** Who answered a per-bolt request and the bolt-to-bolt round trip (absent: answered by the bolt asked). */
export function answeredBy(headers: Record<string, string | string[] | undefined> | undefined): { forwarded_to: string | null; latency_ms: number | null } {
  const by = headers?.['x-vigo-answered-by'];
  const ms = headers?.['x-vigo-forward-ms'];
  return { forwarded_to: typeof by === 'string' ? by : null, latency_ms: typeof ms === 'string' ? Math.round(Number(ms)) : null };
}

/** One line for a bolt's stacks watcher (`bolt show`, `spanner status`). */
export function stacksLine(st: BoltStacks | null | undefined): string {
  if (st === null || st === undefined) return 'no watcher (standalone, or a bolt that does not report it)';
  if (st.project_id === null) return 'no stacks project on this host yet (`vigocli spanner stacks init` or `stacks join`)';
  const at = st.commit === null ? 'nothing synced yet' : `live at ${st.commit.slice(0, 12)}`;
  const behind = st.head !== null && st.head !== st.commit && st.head !== st.error?.commit ? `, head ${st.head.slice(0, 12)} syncing` : '';
  const refused = st.error ? `; REFUSED head ${st.error.commit.slice(0, 12)}: ${st.error.problem} (.live unchanged; push a fixed commit)` : '';
  const unreplicated = st.replicate_error ? `; NOT REPLICATED from this bolt: ${st.replicate_error} (retrying; check this host's \`vigo agent run\` and its swarm assignment)` : '';
  return `${at}${behind}${refused}${unreplicated}`;
}

export function registerShow(bolt: Command): void {
  bolt
    .command('show')
    .argument('<bolt-id>', 'the bolt (see `vigocli spanner bolt list`)')
    .description("Show a bolt's compliance breakdown, envoy count, and recent activity")
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { json?: boolean }) => {
      const r = await callRaw<BoltShow>('GET', `/api/v1/spanner/bolts/${encodeURIComponent(id)}`);
      const via = answeredBy(r.headers);
      const s = r.body;
      if (o.json) return printJson({ ...s, ...via });
      const e = s.envoys;
      process.stdout.write(
        `Bolt:        ${s.bolt_id} (ed25519:${s.pubkey})\nHostname:    ${s.hostname}\nPeer:        ${s.peer_addr}\nPatterns:    ${s.patterns.join(',')}\n` +
          `Latency:     ${via.latency_ms === null ? 'local (answered by the bolt asked)' : `${via.latency_ms}ms (forwarded to ${via.forwarded_to})`}\n` +
          `Envoys:      ${e.enrolled} enrolled, ${e.active} active, ${e.connected} connected, ${e.revoked} revoked\nCompliance:  ${s.compliance_pct}%\n` +
          `Config:      version ${s.config_version}, check-in every ${s.checkin_interval_s}s\nActivity:    last check-in ${ago(s.last_checkin)}, last run ${ago(s.last_run_at)}\n` +
          `Last error:  ${s.last_error ? `${s.last_error.message}${s.last_error.at ? ` (${s.last_error.at})` : ''}` : 'none'}\n` +
          `Stacks:      ${stacksLine(s.stacks)}\n\n`,
      );
      printTable(['STATUS', 'ENVOYS'], (['converged', 'relapsed', 'diverged', 'failed', 'stale-policy', 'offline', 'no-data'] as const).map((k) => [k, e[k]]));
    });
}
