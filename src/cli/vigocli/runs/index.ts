import type { Command } from 'commander';
import { group } from '../../run.js';
import { registerList } from './list.js';
import { registerShow } from './show.js';

export function registerRuns(program: Command): void {
  const runs = group(program, 'runs', 'Convergence runs reported by envoys');
  registerList(runs);
  registerShow(runs);
}
