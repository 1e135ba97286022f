import type { Command } from 'commander';
import { group } from '../../../run.js';
import { registerList } from './list.js';
import { registerInvite } from './invite.js';
import { registerJoin } from './join.js';
import { registerReassign } from './reassign.js';
import { registerDrain } from './drain.js';
import { registerRemove } from './remove.js';
import { registerShow } from './show.js';
import { registerEnvoys } from './envoys.js';
import { registerRuns } from './runs.js';
import { registerPush } from './push.js';
import { registerAdd } from './add.js';

/** `vigocli spanner bolt`: the per-bolt verbs; bare, it prints help (it does not default to list). */
export function registerBolt(spanner: Command): void {
  const bolt = group(spanner, 'bolt', 'Per-bolt verbs: list, invite, join, show, envoys, runs, push, add');
  registerList(bolt);
  registerInvite(bolt);
  registerJoin(bolt);
  registerReassign(bolt);
  registerDrain(bolt);
  registerRemove(bolt);
  registerShow(bolt);
  registerEnvoys(bolt);
  registerRuns(bolt);
  registerPush(bolt);
  registerAdd(bolt);
}
