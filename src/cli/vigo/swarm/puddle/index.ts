/** `vigo swarm puddle …` — registered verbs, one file each. */
import type { Command } from 'commander';
import type { PuddleHooks } from '../../../../puddle/index.js';
import { group } from '../../../run.js';
import { registerInit } from './init.js';
import { registerUnlock } from './unlock.js';
import { registerLock } from './lock.js';
import { registerStatus } from './status.js';
import { registerPubkey } from './pubkey.js';
import { registerName } from './name/index.js';
import { registerRotatePassphrase } from './rotate-passphrase.js';
import { registerRekeyPair } from './rekey-pair.js';

export function registerPuddle(swarm: Command, hooks: PuddleHooks): void {
  const puddle = group(swarm, 'puddle', "This user's Ed25519 identity (wrapped on disk) and its session helper");
  registerInit(puddle);
  registerUnlock(puddle, hooks.unlock);
  registerLock(puddle);
  registerStatus(puddle);
  registerPubkey(puddle);
  registerName(puddle);
  registerRotatePassphrase(puddle);
  registerRekeyPair(puddle, hooks.rekey);
}
