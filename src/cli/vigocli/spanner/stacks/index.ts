import type { Command } from 'commander';
import { group } from '../../../run.js';
import { registerStacksInit } from './init.js';
import { registerStacksJoin } from './join.js';

/** `vigocli spanner stacks`: the ops-puddle-owned stacks project (docs/spanner.md "The stacks project"). */
export function registerStacks(spanner: Command): void {
  const stacks = group(spanner, 'stacks', 'The stacks gitback project every ops-puddle member holds: init, join');
  registerStacksInit(stacks);
  registerStacksJoin(stacks);
}
