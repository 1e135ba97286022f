/** `vigosrv`: the server. */
import { Command } from 'commander';
import { runCli } from '../run.js';
import { VERSION } from '../../wire/version.js';
import { registerVigosrv } from './index.js';

export function buildVigosrv(): Command {
  const program = new Command('vigosrv').description('Vigo server: REST API + agent gRPC + embedded SQLite').version(VERSION);
  registerVigosrv(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  await runCli(buildVigosrv(), argv);
}
