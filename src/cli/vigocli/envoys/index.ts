import type { Command } from 'commander';
import { group } from '../../run.js';
import { registerList } from './list.js';
import { registerShow } from './show.js';
import { registerRevoke } from './revoke.js';
import { registerPush } from './push.js';

export function registerEnvoys(program: Command): void {
  const e = group(program, 'envoys', 'Enrolled envoys');
  registerList(e);
  registerShow(e);
  registerRevoke(e);
  registerPush(e);
}
