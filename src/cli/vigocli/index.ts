/** Registers vigocli's command groups (auth, secrets, enroll, envoys, runs, config, server, spanner). */
import type { Command } from 'commander';

export function registerVigocli(_program: Command): void {
  // groups are added here as they are built
}
