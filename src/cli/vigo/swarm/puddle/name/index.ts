/** `vigo swarm puddle name set|show|clear`: the signed friendly-name claim. */
import type { Command } from 'commander';
import { group } from '../../../../run.js';
import { registerNameSet } from './set.js';
import { registerNameShow } from './show.js';
import { registerNameClear } from './clear.js';

export function registerName(puddle: Command): void {
  const name = group(puddle, 'name', 'The friendly name this puddle claims (gitback://<name>/<handle>)');
  registerNameSet(name);
  registerNameShow(name);
  registerNameClear(name);
}
