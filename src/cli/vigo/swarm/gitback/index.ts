/** `vigo swarm gitback …` — registered verbs, one file each. */
import type { Command } from 'commander';
import { group } from '../../../run.js';
import { registerStatus } from './status.js';
import { registerPurge } from './purge.js';
import { registerGcOrphans } from './gc-orphans.js';
import { registerProject } from './project/index.js';

export function registerGitback(swarm: Command): void {
  const gb = group(swarm, 'gitback', 'Peer-replicated git among envoys');
  registerStatus(gb);
  registerPurge(gb);
  registerGcOrphans(gb);
  registerProject(gb);
}
