/** `vigocli spanner bolt drain <bolt-id> [--to <bolt-id>]`: move every envoy off a bolt (typed confirmation) */
import type { Command } from 'commander';
import { call } from '../../session.js';
import { printJson, printTable } from '../../output.js';
import type { DrainResult } from '../types.js';
import { confirmBoltId } from './confirm.js';

export function printDrain(r: DrainResult): void {
  process.stdout.write(`Drained bolt ${r.bolt_id}: ${r.moved.length} envoy(s) moved${r.pending.length ? `, ${r.pending.length} still moving (retried in the background)` : ''}\n`);
  if (r.moved.length > 0) printTable(['ENVOY', 'HOSTNAME', 'TO', 'RUNS'], r.moved.map((m) => [m.envoy_id, m.hostname, m.to, m.runs]));
  for (const p of r.pending) process.stderr.write(`still moving: ${p.hostname} (${p.envoy_id}) to ${p.to}: ${p.error}\n`);
}

export function registerDrain(bolt: Command): void {
  bolt
    .command('drain <bolt-id>')
    .description('Migrate all envoys off a bolt for maintenance or decommission')
    .option('--to <bolt-id>', 'move every envoy to this bolt (default: each to the first other live bolt whose pattern matches its hostname)')
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { to?: string; json?: boolean }) => {
      await confirmBoltId(id, `Drain bolt ${id}: every envoy it owns moves to ${o.to ? `bolt ${o.to}` : 'the other live bolt its hostname pattern names'}.`);
      const r = await call<DrainResult>('POST', `/api/v1/spanner/bolts/${encodeURIComponent(id)}/drain`, o.to ? { to: o.to } : {});
      if (o.json) return printJson(r);
      printDrain(r);
      if (r.pending.length > 0) process.exitCode = 1;
    });
}
