/** `vigo swarm puddle …` — registered verbs, one file each. */
import type { Command } from 'commander';
import type { PuddleHooks } from '../../../../puddle/index.js';
import { group } from '../../../run.js';
import { checkEnvoyGate } from '../../../../wire/swarm-assignment.js';
import { registerInit } from './init.js';
import { registerUnlock } from './unlock.js';
import { registerLock } from './lock.js';
import { registerStatus } from './status.js';
import { registerPubkey } from './pubkey.js';
import { registerName } from './name/index.js';
import { registerRotatePassphrase } from './rotate-passphrase.js';
import { registerRekeyPair } from './rekey-pair.js';
import { registerPair } from './pair.js';
import { registerJoin } from './join.js';
import { registerRekey } from './rekey.js';
import { registerLeave } from './leave.js';

/**
 * Verbs that only read, lock or remove this user's own puddle (leave): they work on an envoy whose swarm
 * gates are off (so a user can still see and lock what it has). Every other verb needs
 * the envoy's puddle gate (server.yaml swarm.enabled AND swarm.puddle.enabled).
 */
const LOCAL_ONLY = new Set(['status', 'lock', 'pubkey', 'name show', 'leave']);

export function registerPuddle(swarm: Command, hooks: PuddleHooks): void {
  const puddle = group(swarm, 'puddle', "This user's Ed25519 identity (wrapped on disk) and its session helper");
  puddle.hook('preAction', (_self, action) => {
    const verb = action.parent && action.parent !== puddle ? `${action.parent.name()} ${action.name()}` : action.name();
    if (action !== puddle && !LOCAL_ONLY.has(verb)) checkEnvoyGate(process.env, 'puddle');
  });
  registerInit(puddle);
  registerUnlock(puddle, hooks.unlock);
  registerLock(puddle);
  registerStatus(puddle);
  registerPubkey(puddle);
  registerName(puddle);
  registerRotatePassphrase(puddle);
  registerRekeyPair(puddle, hooks.rekey);
  registerPair(puddle);
  registerJoin(puddle);
  registerRekey(puddle, hooks.rekey);
  registerLeave(puddle);
}
