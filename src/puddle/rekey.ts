/**
 * rekey-pair: replace the puddle's keypair, keep the retired one (still wrapped) under
 * retired/, refresh a running session with the new key, and run the registered hooks
 * (gitback's appends a delegation old → new to every founded project).
 *
 * Crash safety: the key change is one journaled commit (retired copy, new identity files,
 * re-signed name claim, and rekey.pending.json) — a kill -9 before it leaves the old
 * identity, after it the new one. Hooks run after the commit (never before: a delegation
 * to a key that a crash then loses would orphan the project). rekey.pending.json stays
 * until every hook has succeeded; running rekey-pair again while it exists resumes (runs
 * the hooks again with the retired key) instead of making another key, so hooks must be
 * idempotent. A hook that must refuse before anything changes (the delegation cap)
 * implements `preflight`.
 */
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { fsyncDir } from '../platform/atomic.js';
import { VigoError, isVigoError } from '../platform/errors.js';
import { crashPoint } from './crash.js';
import type { HookRegistry, RekeyContext, RekeyHook, RekeyPreflightContext } from './hooks.js';
import { commitChange } from './journal.js';
import { FILES, PRIVATE_MODE, PUBLIC_MODE, puddlePath, retiredPaths } from './layout.js';
import { nameClaimText, readNameClaimFile, signNameClaim } from './name.js';
import { launchSession } from './session/launch.js';
import { lockSession, sessionStatus } from './session/client.js';
import { identityFiles, openIdentity, readIdentityFiles, seal, underLock } from './store.js';
import { generateKeyPair, publicKeyFromSeed, seedSigner, toHex } from '../trust/index.js';
import { SALT_LEN, parseWrapped, unwrapSeed } from './wrap.js';

export type { RekeyContext, RekeyHook, RekeyPreflightContext } from './hooks.js';

interface PendingRekey {
  v: 1;
  old: string;
  new: string;
  started_at: number;
}

export function readPendingRekey(dir: string): PendingRekey | null {
  const p = puddlePath(dir, 'rekeyPending');
  if (!existsSync(p)) return null;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new VigoError('E_PUDDLE_CORRUPT', `${p}: not valid JSON (${(e as Error).message})`);
  }
  const o = v as Partial<PendingRekey>;
  const hex = (s: unknown) => typeof s === 'string' && /^[0-9a-f]{64}$/.test(s);
  if (typeof v !== 'object' || v === null || o.v !== 1 || !hex(o.old) || !hex(o.new) || !Number.isSafeInteger(o.started_at)) {
    throw new VigoError('E_PUDDLE_CORRUPT', `${p}: expected {v:1, old, new, started_at}`);
  }
  return o as PendingRekey;
}

export interface RekeyOptions {
  passphrase: () => Promise<string>;
  forceOrphanProjects: boolean;
  home: string;
  now?: () => number;
  /** the entry point's environment */
  env: NodeJS.ProcessEnv;
  /** progress lines (stderr) */
  progress?: (line: string) => void;
  /** the rekey hooks to run (the entry point's registry) */
  hooks: HookRegistry<RekeyHook>;
}

export interface RekeyResult {
  oldPublicKey: Uint8Array;
  newPublicKey: Uint8Array;
  resumed: boolean;
  sessionRefreshed: boolean;
  lines: string[];
}

async function openRetired(dir: string, pubHex: string, passphrase: string): Promise<Uint8Array> {
  const rp = retiredPaths(dir, pubHex);
  const wrapped = parseWrapped(readFileSync(rp.wrapped, 'utf8'), rp.wrapped);
  const salt = new Uint8Array(readFileSync(rp.salt));
  const seed = await unwrapSeed(wrapped, salt, passphrase, rp.wrapped);
  if (toHex(publicKeyFromSeed(seed)) !== pubHex || salt.length !== SALT_LEN) {
    seed.fill(0);
    throw new VigoError('E_PUDDLE_CORRUPT', `${rp.wrapped}: does not hold the key ${pubHex}`);
  }
  return seed;
}

export async function rekeyPair(dir: string, opts: RekeyOptions): Promise<RekeyResult> {
  const now = opts.now ?? (() => Math.floor(Date.now() / 1000));
  const env = opts.env;
  const progress = opts.progress ?? (() => undefined);
  return underLock(dir, async () => {
    const pending = readPendingRekey(dir);
    const passphrase = await opts.passphrase();
    let oldSeed: Uint8Array;
    let newSeed: Uint8Array;
    if (pending) {
      progress(`resuming an interrupted rekey ${pending.old.slice(0, 12)}… → ${pending.new.slice(0, 12)}…`);
      const cur = await openIdentity(dir, passphrase);
      newSeed = cur.seed;
      if (toHex(cur.publicKey) !== pending.new) {
        newSeed.fill(0);
        throw new VigoError('E_PUDDLE_CORRUPT', `${puddlePath(dir, 'rekeyPending')} names ${pending.new}, but the identity is ${toHex(cur.publicKey)}`);
      }
      oldSeed = await openRetired(dir, pending.old, passphrase);
    } else {
      const cur = await openIdentity(dir, passphrase); // a wrong passphrase stops here; nothing changed
      oldSeed = cur.seed;
      const fresh = generateKeyPair();
      newSeed = fresh.seed;
      const oldHex = toHex(cur.publicKey);
      const pre: RekeyPreflightContext = {
        oldPublicKey: cur.publicKey,
        newPublicKey: fresh.publicKey,
        now: now(),
        forceOrphanProjects: opts.forceOrphanProjects,
        home: opts.home,
      };
      for (const h of opts.hooks.all()) if (h.preflight) await h.preflight(pre);
      progress('wrapping the new key');
      const sealed = await seal(newSeed, fresh.publicKey, passphrase);
      const oldFiles = readIdentityFiles(dir);
      const put = [
        { path: `${FILES.retiredDir}/${oldHex}.wrapped`, data: readFileSync(puddlePath(dir, 'wrapped'), 'utf8'), mode: PRIVATE_MODE },
        { path: `${FILES.retiredDir}/${oldHex}.salt`, data: oldFiles.salt, mode: PRIVATE_MODE },
        ...identityFiles(sealed, fresh.publicKey),
        {
          path: FILES.rekeyPending,
          data: JSON.stringify({ v: 1, old: oldHex, new: toHex(fresh.publicKey), started_at: now() } satisfies PendingRekey) + '\n',
          mode: PRIVATE_MODE,
        },
      ];
      const remove: string[] = [];
      let claim = null;
      try {
        claim = readNameClaimFile(dir);
      } catch (e) {
        progress(`warning: dropping the unusable name claim (${(e as Error).message}); set it again with \`vigo swarm puddle name set\``);
        remove.push(FILES.nameClaim);
      }
      if (claim) {
        const renewed = await signNameClaim(seedSigner(newSeed), claim.name, now());
        put.push({ path: FILES.nameClaim, data: nameClaimText(renewed), mode: PUBLIC_MODE });
      }
      commitChange(dir, { op: 'rekey', put, remove }, env);
    }
    const oldSigner = seedSigner(oldSeed);
    const newSigner = seedSigner(newSeed);
    try {
      const sessionRefreshed = await refreshSession(dir, newSeed, env);
      const ctx: RekeyContext = {
        oldSigner,
        newPublicKey: newSigner.publicKey,
        now: now(),
        forceOrphanProjects: opts.forceOrphanProjects,
        home: opts.home,
        newSigner,
      };
      const lines: string[] = [];
      for (const h of opts.hooks.all()) {
        progress(`running rekey hook ${h.name}`);
        try {
          lines.push(...(await h.run(ctx)));
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          throw new VigoError('E_PUDDLE_REKEY_HOOK', `the new key is in place, but the ${h.name} rekey hook failed: ${msg}`, {
            hint: `${isVigoError(e) && e.hint ? e.hint + '; then ' : ''}run \`vigo swarm puddle rekey-pair\` again to finish (it resumes with the same new key)`,
            cause: e,
          });
        }
        crashPoint(`rekey:hook:${h.name}`, env);
      }
      crashPoint('rekey:hooks-done', env);
      unlinkSync(puddlePath(dir, 'rekeyPending'));
      fsyncDir(dir);
      return {
        oldPublicKey: oldSigner.publicKey,
        newPublicKey: newSigner.publicKey,
        resumed: pending !== null,
        sessionRefreshed,
        lines,
      };
    } finally {
      oldSeed.fill(0);
      newSeed.fill(0);
    }
  });
}

/** A running session with the old key is replaced by one with the new key (same timeout, same watchdog). */
async function refreshSession(dir: string, newSeed: Uint8Array, env: NodeJS.ProcessEnv): Promise<boolean> {
  const st = await sessionStatus(dir);
  if (st === null) return false;
  const newHex = toHex(publicKeyFromSeed(newSeed));
  if (st.pubkey === newHex) return true;
  await lockSession(dir);
  await launchSession(dir, Uint8Array.from(newSeed), { idleTimeoutS: st.idle_timeout_s, watchPid: st.watch_pid, env });
  return true;
}
