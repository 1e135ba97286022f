/**
 * gitback's puddle hooks, registered into the registry the entry point hands over, so
 * `puddle rekey-pair` runs the rekey hook and `puddle unlock` binds this uid to the key on
 * this envoy (when its daemon is up). `env` is the entry point's: it locates the socket
 * and the bindings.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { checkGitbackGates } from './gate.js';
import type { PuddleHooks } from '../puddle/index.js';
import { paths } from '../platform/paths.js';
import { toHex, type Signer } from '../trust/index.js';
import { rekeyPreflight, runRekeyHook } from './rekey-hook.js';
import { bindToEnvoy, boundLine, type BindResult } from './bind-client.js';
import { daemonTimeoutMs } from './remote-helper.js';
import { bindingState } from './binding.js';
import { adoptAtUnlock } from './adopt.js';

/** One bind with a signer the puddle just handed us; null when there is no daemon or nothing to do. */
async function bindWith(env: NodeJS.ProcessEnv, signer: Signer, now: number, force: boolean): Promise<{ ok: true; result: BindResult } | { ok: false; reason: string } | null> {
  const sock = paths.gitbackSocket(env);
  if (!existsSync(sock)) return null;
  if (!force && bindingState(env, process.getuid?.() ?? -1, toHex(signer.publicKey)) === 'bound') return null;
  try {
    return { ok: true, result: await bindToEnvoy(sock, signer, now, daemonTimeoutMs(env)) };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}

function gitbackOpen(env: NodeJS.ProcessEnv): boolean {
  try {
    checkGitbackGates(process.getuid?.() ?? -1, userInfo().username, env);
    return true;
  } catch {
    return false;
  }
}

export function registerGitbackHooks(hooks: PuddleHooks, env: NodeJS.ProcessEnv): void {
  hooks.rekey.register({
    name: 'gitback',
    preflight: (ctx) => Promise.resolve(rekeyPreflight(ctx)),
    run: async (ctx) => {
      const lines = await runRekeyHook(ctx);
      // the envoy's uid binding moves to the new key with a fresh proof by it (best effort:
      // the next git operation or unlock binds otherwise)
      const b = await bindWith(env, ctx.newSigner, ctx.now, true);
      if (b?.ok === true) lines.push(boundLine(b.result).trimEnd());
      else if (b?.ok === false) lines.push(`warning: could not re-bind your uid on this envoy to the new key: ${b.reason}`);
      return lines;
    },
  });
  // Best effort, silent without a daemon: a failed bind is one line, never the unlock's failure.
  // Then ADR-023 auto-adoption (src/gitback/adopt.ts), which never throws either.
  hooks.unlock.register({
    name: 'gitback',
    run: async (ctx) => {
      const lines: string[] = [];
      const b = await bindWith(env, ctx.signer, ctx.now, false);
      if (b?.ok === true) lines.push(`  Gitback: bound to uid ${b.result.uid} on this envoy${b.result.replaced ? ' (replacing the previous key)' : ''}`);
      if (b?.ok === false) lines.push(`  Gitback: not bound on this envoy yet (${b.reason}); the first git operation retries`);
      // only where gitback is open to this user: adopted state is gitback state
      if (gitbackOpen(env)) lines.push(...(await adoptAtUnlock({ ...env, HOME: ctx.home }, ctx.signer, ctx.now)));
      return lines;
    },
  });
}
