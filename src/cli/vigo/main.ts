/** `vigo`: the envoy agent and the per-user swarm verbs. */
import { Command } from 'commander';
import { group, runCli } from '../run.js';
import { registerPuddle } from './swarm/puddle/index.js';
import { registerGitback } from './swarm/gitback/index.js';
import { registerAgent } from './agent/index.js';
import { VERSION } from '../../wire/version.js';
import { puddleHooks } from '../../puddle/index.js';
import { registerGitbackHooks } from '../../gitback/index.js';

export function buildVigo(): Command {
  const program = new Command('vigo').description('Vigo envoy: agent daemon and per-user swarm verbs').version(VERSION);
  const swarm = group(program, 'swarm', 'Peer-to-peer subsystems among envoys');
  // the puddle's hooks are built here and handed down: gitback's binds the uid on unlock and follows a rekey
  const hooks = puddleHooks();
  registerGitbackHooks(hooks, process.env);
  registerPuddle(swarm, hooks);
  registerGitback(swarm);
  registerAgent(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  await runCli(buildVigo(), argv);
}
