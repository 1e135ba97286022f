/** `vigo swarm puddle …` — registered verbs, one file each. */
import type { Command } from 'commander';

export function registerPuddle(_swarm: Command): void {
  // verbs are added here as they are built
}
