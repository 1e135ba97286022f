import type { Command } from 'commander';
import { group } from '../../run.js';
import { registerList } from './list.js';

export function registerRuns(program: Command): void {
  registerList(group(program, 'runs', 'Convergence runs reported by envoys'));
}
