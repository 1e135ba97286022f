/** `vigo agent …` — the envoy daemon and enrollment. */
import type { Command } from 'commander';
import { group } from '../../run.js';
import { registerRun } from './run.js';
import { registerEnroll } from './enroll.js';

export function registerAgent(program: Command): void {
  const agent = group(program, 'agent', 'The envoy agent daemon');
  registerRun(agent);
  registerEnroll(agent);
}
