/** Registers vigosrv's verbs. */
import type { Command } from 'commander';
import { registerRun } from './run.js';
import { registerCheckConfig } from './check-config.js';

export function registerVigosrv(program: Command): void {
  registerRun(program);
  registerCheckConfig(program);
}
