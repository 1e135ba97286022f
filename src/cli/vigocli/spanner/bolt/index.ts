import type { Command } from 'commander';
import { group } from '../../../run.js';
import { registerList } from './list.js';
import { registerInvite } from './invite.js';
import { registerJoin } from './join.js';

/** `vigocli spanner bolt`: the per-bolt verbs; bare, it prints help (it does not default to list). */
export function registerBolt(spanner: Command): void {
  const bolt = group(spanner, 'bolt', 'Per-bolt verbs: list, invite, join');
  registerList(bolt);
  registerInvite(bolt);
  registerJoin(bolt);
}
