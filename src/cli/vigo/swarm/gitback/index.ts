/** `vigo swarm gitback …` — registered verbs, one file each. */
import type { Command } from 'commander';

export function registerGitback(_swarm: Command): void {
  // verbs are added here as they are built
}
