/** `vigo swarm gitback project …` — one file per verb. */
import type { Command } from 'commander';
import { group } from '../../../../run.js';
import { registerInit } from './init.js';
import { registerPush } from './push.js';
import { registerInvite } from './invite.js';
import { registerJoin } from './join.js';
import { registerLeave } from './leave.js';
import { registerList } from './list.js';
import { registerProjectStatus } from './status.js';
import { registerRevoke } from './revoke.js';
import { registerReanchor } from './reanchor.js';
import { registerReinviteAll } from './re-invite-all.js';
import { registerRejoin } from './rejoin.js';
import { registerRefound } from './re-found.js';

export function registerProject(gb: Command): void {
  const p = group(gb, 'project', 'Found, publish, join, leave and administer gitback projects');
  for (const r of [registerInit, registerPush, registerInvite, registerJoin, registerLeave, registerList, registerProjectStatus, registerRevoke, registerReanchor, registerReinviteAll, registerRejoin, registerRefound]) r(p);
}
