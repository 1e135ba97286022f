/**
 * Hook registries. Unlock hooks: work another subsystem does right after a puddle is unlocked, with the
 * fresh session's signer (gitback's ADR-023 auto-adoption of projects announced for this
 * puddle is the intended user). A hook's failure is reported but does not undo the unlock.
 * Register at module load, like rekey hooks; a name registered again replaces the hook.
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

const unlockHooks = new HookRegistry<UnlockHook>();

export function registerUnlockHook(h: UnlockHook): void {
  unlockHooks.register(h);
}

/** Runs every unlock hook; a failing one yields a warning line instead of an exception. */
export async function runUnlockHooks(ctx: UnlockContext): Promise<string[]> {
  const lines: string[] = [];
  for (const h of unlockHooks.all()) {
    try {
      lines.push(...(await h.run(ctx)));
    } catch (e) {
      lines.push(`warning: the ${h.name} unlock hook failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return lines;
}
