/** Registers vigosrv's verbs. */
import type { Command } from 'commander';

export function registerVigosrv(_program: Command): void {
  // verbs are added here as they are built
}
