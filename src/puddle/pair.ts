/**
 * Pairing this puddle onto another envoy (issue 12 items 3–4), the puddle's half:
 *
 * - `openPairOffer` (run as the user by `vigo swarm puddle pair`): a single-use code of 16
 *   base64url characters (96 bits from the CSPRNG), valid 5 minutes; only its SHA-256 goes
 *   to disk, in `pair.pending` (0600, atomic; a new offer replaces the earlier one);
 * - `adoptPairedIdentity` (run as the target user by `join --from`, after the claim): the
 *   received identity.wrapped / .salt / .pub (and the name claim) are checked — they must
 *   parse strictly, name the same pubkey, and the salt be 16 bytes — and written in one
 *   journaled change, exactly as `init` writes them. The key stays wrapped: nothing here
 *   can open it; the passphrase is the one chosen at `init` on the first envoy.
 */
import { existsSync, chmodSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../platform/atomic.js';
import { VigoError } from '../platform/errors.js';
import { cryptoRng, type Rng } from '../platform/clock.js';
import { toHex } from '../trust/index.js';
import { newOffer, offerText, PAIR_CODE_BYTES, PAIR_OFFER_FILE, PAIR_TTL_S, type PairAnswer, type PairOffer, type PairPurpose } from '../wire/puddle-pair.js';
import { commitChange } from './journal.js';
import type { CrashEnv } from './crash.js';
import { FILES, PRIVATE_MODE, PUBLIC_MODE, puddlePath } from './layout.js';
import { verifyNameClaimText } from './name.js';
import { assertNoIdentity, hasIdentity, notInitialized, readIdentityFiles, readPubFile, underLock } from './store.js';
import { parseWrapped } from './wrap.js';
import { join } from 'node:path';

export interface OpenedOffer {
  code: string;
  offer: PairOffer;
  file: string;
}

/** Mints a code and writes the offer (replacing any earlier one). */
export function openPairOffer(dir: string, o: { purpose: PairPurpose; nowS: number; ttlS?: number; oldPubkey?: string | null; rng?: Rng }): OpenedOffer {
  if (!hasIdentity(dir)) throw notInitialized(dir);
  const rng = o.rng ?? cryptoRng;
  const code = Buffer.from(rng.bytes(PAIR_CODE_BYTES)).toString('base64url');
  const offerId = Buffer.from(rng.bytes(8)).toString('hex');
  const offer = newOffer({ code, offerId, purpose: o.purpose, pubkey: toHex(readPubFile(dir)), oldPubkey: o.oldPubkey ?? null, nowS: o.nowS, ttlS: o.ttlS ?? PAIR_TTL_S });
  const file = join(dir, PAIR_OFFER_FILE);
  writeFileAtomic(file, offerText(offer), { mode: PRIVATE_MODE });
  chmodSync(file, PRIVATE_MODE);
  return { code, offer, file };
}

/** Whether `dir` holds any identity file (join refuses before claiming, so no code is burned). */
export function hasAnyIdentityFile(dir: string): string | null {
  for (const f of ['wrapped', 'pub', 'salt'] as const) if (existsSync(puddlePath(dir, f))) return puddlePath(dir, f);
  return null;
}

/** Writes a received identity into an empty puddle dir (the caller is the target user). */
export async function adoptPairedIdentity(dir: string, a: PairAnswer, env: CrashEnv): Promise<{ pubkey: string; name: string | null; nameDropped: string | null }> {
  const src = 'the identity.wrapped the source envoy sent';
  const w = parseWrapped(a.wrapped, src);
  if (w.pubkey !== a.pubkey) throw new VigoError('E_PAIR_BAD_ANSWER', `${src} is for ${w.pubkey}, but the answer names ${a.pubkey}; nothing written`);
  if (w.kdf.m_kib !== a.kdf.m_kib || w.kdf.t !== a.kdf.t || w.kdf.p !== a.kdf.p) throw new VigoError('E_PAIR_BAD_ANSWER', `the KDF parameters sent do not match those inside ${src}; nothing written`);
  const salt = Buffer.from(a.salt, 'hex');
  if (salt.length !== 16) throw new VigoError('E_PAIR_BAD_ANSWER', 'identity.salt sent is not 16 bytes; nothing written');
  let name: string | null = null;
  let nameDropped: string | null = null;
  const put: { path: string; data: string | Uint8Array; mode: number }[] = [
    { path: FILES.pub, data: a.pubkey + '\n', mode: PUBLIC_MODE },
    { path: FILES.salt, data: new Uint8Array(salt), mode: PRIVATE_MODE },
  ];
  if (a.name_claim !== null) {
    try {
      const c = verifyNameClaimText(a.name_claim, 'the name claim the source envoy sent');
      if (c.pubkey !== a.pubkey) throw new Error(`it is for ${c.pubkey}, not ${a.pubkey}`);
      name = c.name;
      put.push({ path: FILES.nameClaim, data: a.name_claim, mode: PUBLIC_MODE });
    } catch (e) {
      nameDropped = e instanceof Error ? e.message : String(e);
    }
  }
  // identity.wrapped last: its presence is what "initialized" means
  put.push({ path: FILES.wrapped, data: a.wrapped, mode: PRIVATE_MODE });
  await underLock(dir, () => {
    assertNoIdentity(dir);
    commitChange(dir, { op: 'join', put }, env);
    return Promise.resolve();
  });
  return { pubkey: a.pubkey, name, nameDropped };
}

/**
 * `rekey --from`, the puddle's half: the received NEW identity replaces this one in one
 * journaled change exactly as `rekey-pair` commits it — the current key to
 * retired/<old>.wrapped + .salt, the new identity files, the name claim sent (if it verifies
 * for the new key) and rekey.pending.json {old, new}. The caller then runs `rekeyPair`,
 * which finds the pending rekey and *resumes*: it opens both keys, refreshes a running
 * session with the new key and runs the rekey hooks (delegations appended, members
 * rewritten, tokens rebuilt, binding moved), then clears rekey.pending.json.
 */
export async function stageAdoptedRekey(dir: string, a: PairAnswer, expectOld: string, env: CrashEnv, nowS: number): Promise<{ old: string; new: string; name: string | null }> {
  const src = 'the identity.wrapped the source envoy sent';
  const w = parseWrapped(a.wrapped, src);
  if (w.pubkey !== a.pubkey) throw new VigoError('E_PAIR_BAD_ANSWER', `${src} is for ${w.pubkey}, but the answer names ${a.pubkey}; nothing written`);
  const salt = Buffer.from(a.salt, 'hex');
  if (salt.length !== 16) throw new VigoError('E_PAIR_BAD_ANSWER', 'identity.salt sent is not 16 bytes; nothing written');
  let name: string | null = null;
  return underLock(dir, () => {
    if (existsSync(puddlePath(dir, 'rekeyPending'))) throw new VigoError('E_PUDDLE_REKEY_PENDING', 'an interrupted rekey has not finished here', { hint: 'run `vigo swarm puddle rekey-pair` to finish it first' });
    const cur = readIdentityFiles(dir);
    const old = toHex(cur.publicKey);
    if (old !== expectOld) throw new VigoError('E_PAIR_STALE', `the identity changed while claiming (${expectOld} → ${old}); nothing written`);
    if (old === a.pubkey) throw new VigoError('E_PAIR_ALREADY', `this envoy already holds ${old}; nothing to adopt`);
    const put: { path: string; data: string | Uint8Array; mode: number }[] = [
      { path: `${FILES.retiredDir}/${old}.wrapped`, data: readFileSync(puddlePath(dir, 'wrapped'), 'utf8'), mode: PRIVATE_MODE },
      { path: `${FILES.retiredDir}/${old}.salt`, data: cur.salt, mode: PRIVATE_MODE },
      { path: FILES.pub, data: a.pubkey + '\n', mode: PUBLIC_MODE },
      { path: FILES.salt, data: new Uint8Array(salt), mode: PRIVATE_MODE },
      { path: FILES.wrapped, data: a.wrapped, mode: PRIVATE_MODE },
      { path: FILES.rekeyPending, data: JSON.stringify({ v: 1, old, new: a.pubkey, started_at: nowS }) + '\n', mode: PRIVATE_MODE },
    ];
    const remove: string[] = [];
    if (a.name_claim !== null) {
      try {
        const c = verifyNameClaimText(a.name_claim, 'the name claim the source envoy sent');
        if (c.pubkey === a.pubkey) {
          name = c.name;
          put.push({ path: FILES.nameClaim, data: a.name_claim, mode: PUBLIC_MODE });
        }
      } catch {
        /* dropped: rekeyPair's resume keeps whatever is there */
      }
    }
    // a claim by the old key no longer verifies for the new one
    if (name === null && existsSync(puddlePath(dir, 'nameClaim'))) remove.push(FILES.nameClaim);
    commitChange(dir, { op: 'rekey', put, remove }, env);
    return Promise.resolve({ old, new: a.pubkey, name });
  });
}
