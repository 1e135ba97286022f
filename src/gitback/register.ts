/** Registers gitback's rekey hook with the puddle, so `puddle rekey-pair` runs it. */
import { registerRekeyHook } from '../puddle/index.js';
import { rekeyPreflight, runRekeyHook } from './rekey-hook.js';

export function registerGitbackRekeyHook(): void {
  registerRekeyHook({
    name: 'gitback',
    preflight: (ctx) => Promise.resolve(rekeyPreflight(ctx)),
    run: (ctx) => runRekeyHook(ctx),
  });
}
