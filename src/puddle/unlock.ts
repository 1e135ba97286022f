/** Unlocking: unwrap the identity and hand the key to a fresh session helper. */
import { VigoError } from '../platform/errors.js';
import { homeDir } from '../platform/paths.js';
import { runUnlockHooks, type HookRegistry, type UnlockHook } from './hooks.js';
import { sessionSigner } from './session/signer.js';
import { launchSession } from './session/launch.js';
import { lockSession, removeStaleSessionFiles, sessionStatus } from './session/client.js';
import type { StatusAnswer } from './session/protocol.js';
import { hasIdentity, notInitialized, readPubFile, recoverIfNeeded, unwrapIdentity } from './store.js';
import { toHex } from '../trust/index.js';

/** 15 minutes without a signature locks the session. */
export const DEFAULT_IDLE_TIMEOUT_S = 15 * 60;
export const MAX_IDLE_TIMEOUT_S = 7 * 24 * 3600;

/** "90", "90s", "15m", "2h", "1d" → seconds. */
export function parseDuration(s: string, what = '--idle-timeout'): number {
  const m = /^(\d+)\s*(s|m|h|d)?$/.exec(s.trim());
  const n = m ? Number(m[1]) * ({ s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd']) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_IDLE_TIMEOUT_S) {
    throw new VigoError('E_USAGE', `${what}: ${JSON.stringify(s)} is not a duration between 1s and 7d`, {
      hint: 'write it as seconds (900), or with a unit: 90s, 15m, 2h, 1d',
    });
  }
  return n;
}

export interface UnlockOptions {
  idleTimeoutS: number;
  watchPid: number | null;
  /** the entry point's environment */
  env: NodeJS.ProcessEnv;
  /** for unlock hooks */
  home?: string;
  now?: () => number;
  /** the unlock hooks to run (the entry point's registry) */
  hooks: HookRegistry<UnlockHook>;
}

export type UnlockResult = { already: true; status: StatusAnswer } | { already: false; pid: number; publicKey: Uint8Array; lines: string[] };

/** Status of a helper serving THIS identity; a helper serving another key is locked. */
export async function currentSession(dir: string, pubHex: string): Promise<StatusAnswer | null> {
  const st = await sessionStatus(dir);
  if (st === null) {
    removeStaleSessionFiles(dir);
    return null;
  }
  if (st.pubkey !== pubHex) {
    await lockSession(dir);
    return null;
  }
  return st;
}

export async function unlockPuddle(dir: string, getPassphrase: () => Promise<string>, opts: UnlockOptions): Promise<UnlockResult> {
  await recoverIfNeeded(dir);
  if (!hasIdentity(dir)) throw notInitialized(dir);
  const pubHex = toHex(readPubFile(dir));
  const st = await currentSession(dir, pubHex);
  if (st) return { already: true, status: st };
  const passphrase = await getPassphrase();
  const { seed, publicKey } = await unwrapIdentity(dir, passphrase);
  const pid = await launchSession(dir, seed, opts); // zeroes seed
  const lines = await runUnlockHooks(opts.hooks, {
    signer: await sessionSigner(dir),
    home: opts.home ?? homeDir(opts.env),
    now: (opts.now ?? (() => Math.floor(Date.now() / 1000)))(),
  });
  return { already: false, pid, publicKey, lines };
}
