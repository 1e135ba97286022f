/** `vigocli config validate [--json]` — the server validates its stacks directory. */
import type { Command } from 'commander';
import { call } from '../session.js';
import { printJson } from '../output.js';
import { VigoError } from '../../../platform/errors.js';

export interface Problem {
  file: string;
  line: number | null;
  message: string;
}

export function registerValidate(config: Command): void {
  config
    .command('validate')
    .description("Validate the server's stacks (/srv/vigo/stacks) without publishing")
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const r = await call<{ valid: boolean; stacks_dir: string; problems: Problem[] }>('POST', '/api/v1/config/validate');
      if (o.json) printJson(r);
      else if (r.valid) process.stdout.write(`Stacks in ${r.stacks_dir} are valid\n`);
      if (!r.valid) {
        if (!o.json) for (const p of r.problems) process.stderr.write(`${p.file}:${p.line ?? '?'}: ${p.message}\n`);
        throw new VigoError('E_STACKS_INVALID', `${r.problems.length} problem(s) in ${r.stacks_dir}`, { hint: 'fix them, then `vigocli config publish`' });
      }
    });
}
