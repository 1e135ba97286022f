/** `vigocli`: the operator's admin CLI; talks to a server's REST API. */
import { Command } from 'commander';
import { runCli } from '../run.js';
import { VERSION } from '../../wire/version.js';
import { registerVigocli } from './index.js';

export function buildVigocli(): Command {
  const program = new Command('vigocli').description('Vigo admin CLI (talks to a vigosrv REST API)').version(VERSION);
  registerVigocli(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  await runCli(buildVigocli(), argv);
}
