/**
 * Shared entry for every bin: parse, run, and turn errors into an operator message and
 * an exit code. A VigoError prints `error: …` and its hint; anything else prints its
 * message only (no stack unless VIGO_DEBUG=1).
 */
import { Command, CommanderError } from 'commander';
import { isVigoError } from '../platform/errors.js';

export function reportError(e: unknown): number {
  if (isVigoError(e)) {
    process.stderr.write(`error: ${e.message}\n`);
    if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
    if (process.env.VIGO_DEBUG === '1' && e.stack) process.stderr.write(e.stack + '\n');
    return e.exitCode;
  }
  if (e instanceof CommanderError) return e.exitCode;
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`error: ${msg}\n`);
  if (process.env.VIGO_DEBUG === '1' && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  return 1;
}

/** A group command with no verb prints its help (it never defaults to a verb). */
export function group(parent: Command, name: string, description: string): Command {
  const cmd = parent.command(name).description(description);
  cmd.action(() => {
    cmd.outputHelp();
  });
  return cmd;
}

export async function runCli(program: Command, argv: string[]): Promise<void> {
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    process.exitCode = reportError(e);
  }
}
