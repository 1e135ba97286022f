/** `vigocli spanner status [--json]`: this server's role and the bolts it knows */
import type { Command } from 'commander';
import { call } from '../session.js';
import { printJson, printTable } from '../output.js';
import type { SpannerStatus } from './types.js';
import { stacksLine } from './bolt/show.js';

export function registerStatus(spanner: Command): void {
  spanner
    .command('status')
    .description("Show this server's spanner role (standalone / hub / spoke) and bolt availability")
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const s = await call<SpannerStatus>('GET', '/api/v1/spanner/status');
      if (o.json) return printJson(s);
      if (s.mode === 'standalone') return void process.stdout.write('No spanner configured.\n');
      process.stdout.write(`Role:     ${s.mode}\nSpanner:  ${s.spanner_id}\nBolt:     ${s.bolt_id} (ed25519:${s.pubkey})\n`);
      if (!s.member || !s.roster || !s.bolts) {
        return void process.stdout.write('Roster:   none yet (found it with `vigocli spanner init`, or join with `vigocli spanner bolt join`)\n');
      }
      process.stdout.write(`Roster:   ${s.roster.live} live bolt(s), ${s.roster.revoked} revoked, ${s.roster.rows} rows, digest ${s.roster.digest.slice(0, 16)}\n\n`);
      printTable(
        ['BOLT', 'HOSTNAME', 'STATUS', 'HEALTH', 'LATENCY', 'HEARD', 'ENVOYS', 'COMPLIANCE', 'PATTERNS'],
        s.bolts.map((b) => [
          b.self ? `${b.bolt_id} (this)` : b.bolt_id,
          b.hostname,
          b.status,
          b.health,
          b.latency_ms === null ? null : `${b.latency_ms}ms`,
          b.self ? 'this bolt' : b.last_heard_s === null ? 'not yet' : `${b.last_heard_s}s ago`,
          b.envoys,
          b.compliance_pct === null ? null : `${b.compliance_pct}%`,
          b.patterns.join(','),
        ]),
      );
      for (const b of s.bolts) if (b.error) process.stdout.write(`${b.bolt_id}: ${b.error}\n`);
      for (const b of s.bolts) if (b.stacks?.error || b.stacks?.replicate_error) process.stdout.write(`${b.bolt_id}: stacks ${stacksLine(b.stacks)}\n`);
    });
}
