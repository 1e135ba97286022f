/** `vigo agent …` — the envoy daemon and enrollment. */
import type { Command } from 'commander';

export function registerAgent(_program: Command): void {
  // verbs are added here as they are built
}
