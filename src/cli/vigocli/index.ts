/** Registers vigocli's command groups (auth, secrets, enroll, envoys, runs, config, server, spanner, swarm). */
import type { Command } from 'commander';
import { registerAuth } from './auth/index.js';
import { registerSecrets } from './secrets/index.js';
import { registerEnroll } from './enroll/index.js';
import { registerEnvoys } from './envoys/index.js';
import { registerRuns } from './runs/index.js';
import { registerConfig } from './config/index.js';
import { registerServer } from './server/index.js';
import { registerSpanner } from './spanner/index.js';
import { registerSwarm } from './swarm/index.js';

export function registerVigocli(program: Command): void {
  registerAuth(program);
  registerSecrets(program);
  registerEnroll(program);
  registerEnvoys(program);
  registerRuns(program);
  registerConfig(program);
  registerServer(program);
  registerSpanner(program);
  registerSwarm(program);
}
