/** What `vigo swarm puddle status` reports, as data (the CLI only formats it). */
import { readFileSync } from 'node:fs';
import { formatPublicKey, toHex } from '../trust/index.js';
import { isInitialized, readNameClaim, readPublicKey } from './identity.js';
import { puddlePath } from './layout.js';
import { readPendingRekey } from './rekey.js';
import { currentSession } from './unlock.js';
import { DEFAULT_KDF, parseWrapped, type KdfParams } from './wrap.js';

export interface PuddleStatus {
  dir: string;
  initialized: boolean;
  pubkey: string | null;
  name: string | null;
  /** why name-claim.json does not count (tampered, another key's, malformed) */
  name_error?: string;
  unlocked: boolean;
  session: { pid: number; idle_timeout_s: number; idle_left_s: number; watch_pid: number | null; unlocked_at: number } | null;
  rekey_pending: boolean;
  /** the KDF parameters identity.wrapped was sealed with, and whether they are below today's defaults */
  kdf: (KdfParams & { below_defaults: boolean }) | null;
}

export async function puddleStatus(dir: string): Promise<PuddleStatus> {
  const initialized = isInitialized(dir);
  const out: PuddleStatus = { dir, initialized, pubkey: null, name: null, unlocked: false, session: null, rekey_pending: false, kdf: null };
  if (!initialized) return out;
  const pk = readPublicKey(dir);
  out.pubkey = formatPublicKey(pk);
  try {
    out.name = readNameClaim(dir)?.name ?? null;
  } catch (e) {
    out.name_error = (e as Error).message;
  }
  out.rekey_pending = readPendingRekey(dir) !== null;
  const wp = puddlePath(dir, 'wrapped');
  const kdf = parseWrapped(readFileSync(wp, 'utf8'), wp).kdf;
  out.kdf = { ...kdf, below_defaults: kdf.m_kib < DEFAULT_KDF.m_kib || kdf.t < DEFAULT_KDF.t || kdf.p < DEFAULT_KDF.p };
  const st = await currentSession(dir, toHex(pk));
  if (st) {
    out.unlocked = true;
    out.session = { pid: st.pid, idle_timeout_s: st.idle_timeout_s, idle_left_s: st.idle_left_s, watch_pid: st.watch_pid, unlocked_at: st.unlocked_at };
  }
  return out;
}

