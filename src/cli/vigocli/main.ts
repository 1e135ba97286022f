/** `vigocli`: the operator's admin CLI; talks to a server's REST API. */
import { Command } from 'commander';
import { runCli } from '../run.js';
import { VERSION } from '../../wire/version.js';
import { registerVigocli } from './index.js';
import { selectServer } from './session.js';

export function buildVigocli(): Command {
  const program = new Command('vigocli')
    .description('Vigo admin CLI (talks to a vigosrv REST API)')
    .version(VERSION)
    .option('--server <url>', 'the vigosrv to talk to (https://HOST:8443; default: the newest `auth login`)');
  // the global --server is read once, before any verb runs (auth login reads it as its own)
  program.hook('preAction', () => selectServer(program.opts<{ server?: string }>().server));
  registerVigocli(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  await runCli(buildVigocli(), argv);
}
