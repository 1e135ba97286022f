/** Registers gitback's rekey hook with the puddle (when the puddle module is present). */
import { puddleApi } from './identity.js';
import { rekeyPreflight, runRekeyHook } from './rekey-hook.js';

export function registerGitbackRekeyHook(): void {
  void puddleApi().then((api) => {
    const reg = (api as unknown as { registerRekeyHook?: (h: unknown) => void } | null)?.registerRekeyHook;
    reg?.({
      name: 'gitback',
      preflight: (ctx: Parameters<typeof rekeyPreflight>[0]) => Promise.resolve(rekeyPreflight(ctx)),
      run: runRekeyHook,
    });
  });
}
