import type { Command } from 'commander';
import { group } from '../../../run.js';
import { registerOpsInit } from './init.js';
import { registerOpsStatus } from './status.js';
import { registerOpsPair } from './pair.js';
import { registerOpsJoin } from './join.js';

/** `vigocli spanner ops-puddle`: the ops-puddle every bolt holds (docs/spanner.md "Ops-puddle"). */
export function registerOpsPuddle(spanner: Command): void {
  const ops = group(spanner, 'ops-puddle', 'The ops-puddle: init, status, pair, join');
  registerOpsInit(ops);
  registerOpsStatus(ops);
  registerOpsPair(ops);
  registerOpsJoin(ops);
}
