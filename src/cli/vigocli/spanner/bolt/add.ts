/** `vigocli spanner bolt add <bolt-id> --addr HOST:PORT --patterns GLOB,... [--output PATH]`: a sample server.yaml (hub only) */
import type { Command } from 'commander';
import { writeFileAtomic } from '../../../../platform/atomic.js';
import { call } from '../../session.js';
import { printJson } from '../../output.js';

export function registerAdd(bolt: Command): void {
  bolt
    .command('add')
    .argument('<bolt-id>', 'the new bolt\'s id (1-64 of A-Z a-z 0-9 . _ -)')
    .description('Register a new bolt with the spanner and generate a sample server.yaml')
    .requiredOption('--addr <host:port>', 'the REST address other bolts will dial for the new bolt')
    .requiredOption('--patterns <globs>', 'comma-separated hostname patterns the new bolt owns (first match wins)')
    .option('--output <path>', "write the new bolt's server.yaml here instead of stdout")
    .option('--json', 'machine-readable output')
    .action(async (id: string, o: { addr: string; patterns: string; output?: string; json?: boolean }) => {
      const patterns = o.patterns.split(',').map((p) => p.trim()).filter((p) => p !== '');
      const r = await call<{ bolt_yaml: string; hub_block: string; next: string[] }>('POST', '/api/v1/spanner/bolt/add', { bolt_id: id, addr: o.addr, patterns });
      if (o.output) writeFileAtomic(o.output, r.bolt_yaml, { mode: 0o644 });
      if (o.json) return printJson({ ...r, output: o.output ?? null });
      const bolt = o.output ? `Wrote the server.yaml for ${id} to ${o.output}\n` : `# --- server.yaml for ${id} ---\n${r.bolt_yaml}`;
      process.stdout.write(`${bolt}\n# --- add to the hub's server.yaml ---\n${r.hub_block}\n${r.next.map((n) => `# ${n}`).join('\n')}\n`);
    });
}
