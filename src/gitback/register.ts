/** Registers gitback's rekey hook with the puddle, so `puddle rekey-pair` runs it. */
import { registerRekeyHook } from '../puddle/index.js';
import { rekeyPreflight, runRekeyHook } from './rekey-hook.js';
import { bindToEnvoy, boundLine } from './bind-client.js';
import { paths } from '../platform/paths.js';
import { existsSync } from 'node:fs';

export function registerGitbackRekeyHook(): void {
  registerRekeyHook({
    name: 'gitback',
    preflight: (ctx) => Promise.resolve(rekeyPreflight(ctx)),
    run: async (ctx) => {
      const lines = await runRekeyHook(ctx);
      // the envoy's uid binding moves to the new key with a fresh proof by it (best effort:
      // the next git operation or unlock binds otherwise)
      const sock = paths.gitbackSocket(process.env);
      if (existsSync(sock)) {
        try {
          lines.push(boundLine(await bindToEnvoy(sock, ctx.newSigner, ctx.now)).trimEnd());
        } catch (e) {
          lines.push(`warning: could not re-bind your uid on this envoy to the new key: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      return lines;
    },
  });
}
