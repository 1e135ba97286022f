import type { Command } from 'commander';
import { group } from '../../run.js';
import { registerInit } from './init.js';
import { registerUnlock } from './unlock.js';
import { registerLock } from './lock.js';
import { registerSet } from './set.js';
import { registerReveal } from './reveal.js';
import { registerList } from './list.js';

export function registerSecrets(program: Command): void {
  const s = group(program, 'secrets', 'The server secrets vault (AES-256-GCM files under /srv/vigo/secrets)');
  registerInit(s);
  registerUnlock(s);
  registerLock(s);
  registerSet(s);
  registerReveal(s);
  registerList(s);
}
