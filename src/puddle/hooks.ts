/**
 * Hook registries, as values: the entry point (the `vigo` CLI) builds one PuddleHooks,
 * lets each subsystem register into it, and hands it to unlock and rekey-pair. No module
 * keeps a registry of its own, so two puddles in one process (tests, a simulator) never
 * share hooks.
 *
 * Unlock hooks: work another subsystem does right after a puddle is unlocked, with the
 * fresh session's signer (gitback binds the uid to the key on this envoy). A hook's
 * failure is reported but does not undo the unlock. Rekey hooks: see rekey.ts. A name
 * registered again replaces the hook.
 */
import type { Signer } from '../trust/index.js';

export interface UnlockContext {
  /** signs through the session helper that was just started */
  signer: Signer;
  home: string;
  now: number;
}

export interface UnlockHook {
  name: string;
  /** returns lines to print */
  run(ctx: UnlockContext): Promise<string[]>;
}

/** Hooks kept in registration order; registering a name again replaces that hook in place. */
export class HookRegistry<H extends { name: string }> {
  private readonly list: H[] = [];

  register(h: H): void {
    const i = this.list.findIndex((x) => x.name === h.name);
    if (i >= 0) this.list[i] = h;
    else this.list.push(h);
  }

  all(): readonly H[] {
    return this.list;
  }
}

export interface RekeyContext {
  oldSigner: Signer;
  newPublicKey: Uint8Array;
  now: number;
  forceOrphanProjects: boolean;
  home: string;
  /** beyond CONTRACTS §2: the new key, for hooks that mint under it (e.g. a fresh admin token) */
  newSigner: Signer;
}

export interface RekeyPreflightContext {
  oldPublicKey: Uint8Array;
  newPublicKey: Uint8Array;
  now: number;
  forceOrphanProjects: boolean;
  home: string;
}

export interface RekeyHook {
  name: string;
  /** optional: throw (a VigoError with a hint) to refuse the rekey before anything changes */
  preflight?(ctx: RekeyPreflightContext): Promise<void>;
  /** must be idempotent: it runs again when an interrupted rekey is resumed. Returns lines to print. */
  run(ctx: RekeyContext): Promise<string[]>;
}

/** The hooks one puddle runs: built by the entry point, passed to unlock and rekey-pair. */
export interface PuddleHooks {
  readonly unlock: HookRegistry<UnlockHook>;
  readonly rekey: HookRegistry<RekeyHook>;
}

export function puddleHooks(): PuddleHooks {
  return { unlock: new HookRegistry<UnlockHook>(), rekey: new HookRegistry<RekeyHook>() };
}

/** Runs every unlock hook; a failing one yields a warning line instead of an exception. */
export async function runUnlockHooks(hooks: HookRegistry<UnlockHook>, ctx: UnlockContext): Promise<string[]> {
  const lines: string[] = [];
  for (const h of hooks.all()) {
    try {
      lines.push(...(await h.run(ctx)));
    } catch (e) {
      lines.push(`warning: the ${h.name} unlock hook failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return lines;
}
