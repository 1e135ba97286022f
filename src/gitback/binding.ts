/**
 * The envoy's uid → puddle key bindings, and its record of founder delegations.
 *
 * A capability chain names a subject KEY; the helper daemon knows only the caller's UID
 * (SO_PEERCRED). identity.pub is written by the user, so it cannot say which key a uid
 * holds. A binding can: the daemon hands the connection a fresh random challenge, the
 * client answers with a `uid-binding` body signed by its puddle (through the session
 * helper), and the daemon keeps `bindings/<uid>.json` (root-owned). Access decisions use
 * the bound key as the presenter.
 *
 * The delegation record (`delegations/<pid>.json`, root-only) is the longest founder
 * delegation list the daemon has verified for a project; it is passed to verifyChain as
 * `knownDelegations`, so a deposed founder cannot hide its retirement by presenting an
 * empty delegations.json.
 *
 * Proof checking is pure; the record files are at the edges (read/write helpers below).
 */
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir, writeJsonAtomic } from '../platform/atomic.js';
import { VigoError } from '../platform/errors.js';
import { paths, type Env } from '../platform/paths.js';
import { fromHex, parseStrictJson, signingMessage, verifyRaw, type Delegation, type Hex } from '../trust/index.js';

export const BINDING_KIND = 'uid-binding';
/** how far a proof's issued_at may be from the daemon's clock (it is also tied to a one-time challenge) */
export const BINDING_SKEW_S = 300;
export const UNBOUND_HINT = 'run `vigo swarm puddle unlock` (then retry) so this envoy can bind your puddle to your uid';

export interface BindingBody {
  v: 1;
  kind: 'uid-binding';
  uid: number;
  pubkey: Hex;
  challenge: Hex;
  issued_at: number;
}
export type BindingProof = BindingBody & { sig: Hex };

export interface BindingRecord {
  v: 1;
  uid: number;
  user: string;
  pubkey: Hex;
  bound_at: number;
  proof: BindingProof;
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;
const PROOF_FIELDS = ['v', 'kind', 'uid', 'pubkey', 'challenge', 'issued_at', 'sig'];

/** The exact bytes a binding proof signs: `vigo/uid-binding/v1` ‖ 0x00 ‖ JCS(body). */
export function bindingMessage(body: BindingBody): Uint8Array {
  return signingMessage(BINDING_KIND, body);
}

function refuse(msg: string): VigoError {
  return new VigoError('E_BIND_REFUSED', `binding refused: ${msg}`);
}

/** Shape check of a proof object (field names, types, hex lengths). */
export function checkProofShape(v: unknown, what = 'proof'): BindingProof {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw refuse(`${what} is not an object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!PROOF_FIELDS.includes(k)) throw refuse(`${what} has an unknown field '${k}'`);
  if (o.v !== 1) throw refuse(`${what}.v must be 1`);
  if (o.kind !== BINDING_KIND) throw refuse(`${what}.kind must be '${BINDING_KIND}'`);
  if (!Number.isSafeInteger(o.uid) || (o.uid as number) < 0) throw refuse(`${what}.uid must be a non-negative integer`);
  if (typeof o.pubkey !== 'string' || !HEX64.test(o.pubkey)) throw refuse(`${what}.pubkey must be 64 lowercase hex`);
  if (typeof o.challenge !== 'string' || !HEX64.test(o.challenge)) throw refuse(`${what}.challenge must be 64 lowercase hex`);
  if (!Number.isSafeInteger(o.issued_at) || (o.issued_at as number) < 0) throw refuse(`${what}.issued_at must be a non-negative integer`);
  if (typeof o.sig !== 'string' || !HEX128.test(o.sig)) throw refuse(`${what}.sig must be 128 lowercase hex`);
  return o as unknown as BindingProof;
}

/**
 * Checks a proof against what the daemon knows about THIS connection: the kernel's uid,
 * the challenge it issued, its clock. Returns the proven public key (hex).
 */
export function verifyBindingProof(v: unknown, expect: { uid: number; challenge: Hex; now: number }): BindingProof {
  const p = checkProofShape(v);
  if (p.uid !== expect.uid) throw refuse(`the proof is for uid ${p.uid}, but you are uid ${expect.uid}`);
  if (p.challenge !== expect.challenge) throw refuse('the proof answers another challenge (a replayed or stale proof)');
  if (Math.abs(p.issued_at - expect.now) > BINDING_SKEW_S) throw refuse(`the proof is dated ${p.issued_at}, more than ${BINDING_SKEW_S} s from the envoy's clock (${expect.now})`);
  const body: BindingBody = { v: 1, kind: 'uid-binding', uid: p.uid, pubkey: p.pubkey, challenge: p.challenge, issued_at: p.issued_at };
  if (!verifyRaw(fromHex(p.pubkey), bindingMessage(body), fromHex(p.sig))) throw refuse(`the signature does not verify for ${p.pubkey}`);
  return p;
}

export function bindingsDir(env: Env): string {
  return join(paths.gitbackBase(env), 'bindings');
}

export function bindingPath(env: Env, uid: number): string {
  return join(bindingsDir(env), `${uid}.json`);
}

/** The binding for a uid, or null. A malformed file is an error naming it (never silently unbound). */
export function readBinding(env: Env, uid: number): BindingRecord | null {
  const file = bindingPath(env, uid);
  if (!existsSync(file)) return null;
  const v = parseStrictJson(readFileSync(file), { what: file, maxBytes: 16 * 1024 });
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new VigoError('E_STATE_MALFORMED', `${file}: not an object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!['v', 'uid', 'user', 'pubkey', 'bound_at', 'proof'].includes(k)) throw new VigoError('E_STATE_MALFORMED', `${file}: unknown field '${k}'`);
  if (o.v !== 1 || o.uid !== uid || typeof o.user !== 'string' || typeof o.pubkey !== 'string' || !HEX64.test(o.pubkey) || !Number.isSafeInteger(o.bound_at)) {
    throw new VigoError('E_STATE_MALFORMED', `${file}: expected {v:1, uid:${uid}, user, pubkey (64 hex), bound_at, proof}`);
  }
  return { v: 1, uid, user: o.user, pubkey: o.pubkey, bound_at: o.bound_at as number, proof: checkProofShape(o.proof, `${file}: proof`) };
}

/** Root-owned, world-readable (a uid → public key map discloses nothing secret; clients check it to skip a bind). */
export function writeBinding(env: Env, rec: BindingRecord): void {
  writeJsonAtomic(bindingPath(env, rec.uid), rec, { mode: 0o644, mkdirMode: 0o755 });
}

/** Removes the uid's binding (and syncs the directory); whether there was one. */
export function removeBinding(env: Env, uid: number): boolean {
  const file = bindingPath(env, uid);
  if (!existsSync(file)) return false;
  rmSync(file, { force: true });
  fsyncDir(bindingsDir(env));
  return true;
}

/** How the user's current puddle key stands against this envoy's binding for its uid. */
export function bindingState(env: Env, uid: number, pubkey: Hex): 'bound' | 'unbound' | 'mismatch' {
  let b: BindingRecord | null;
  try {
    b = readBinding(env, uid);
  } catch {
    return 'unbound';
  }
  if (b === null) return 'unbound';
  return b.pubkey === pubkey ? 'bound' : 'mismatch';
}

export function delegationRecordPath(env: Env, pid: Hex): string {
  return join(paths.gitbackBase(env), 'delegations', `${pid}.json`);
}

/** The longest delegation list verified for a project on this envoy ([] when none). */
export function readDelegationRecord(env: Env, pid: Hex): Delegation[] {
  const file = delegationRecordPath(env, pid);
  if (!existsSync(file)) return [];
  const v = parseStrictJson(readFileSync(file), { what: file });
  const d = (v as { delegations?: unknown } | null)?.delegations;
  if (typeof v !== 'object' || v === null || (v as { project_id?: unknown }).project_id !== pid || !Array.isArray(d)) {
    throw new VigoError('E_STATE_MALFORMED', `${file}: expected {v:1, project_id:"${pid}", delegations:[…], updated_at}`);
  }
  return d as Delegation[];
}

/** Only after a chain presenting this (longer, consistent) list verified. */
export function writeDelegationRecord(env: Env, pid: Hex, delegations: Delegation[], now: number): void {
  writeJsonAtomic(delegationRecordPath(env, pid), { v: 1, project_id: pid, delegations, updated_at: now }, { mode: 0o600, mkdirMode: 0o700 });
}

/** Keys read per call of knownPuddleKeys: a bound on the announcer's hashing per cache write. */
export const MAX_KNOWN_KEYS = 1024;

/**
 * The puddle keys bound on this envoy (bindings/<uid>.json) and named in the fleet name map:
 * the candidates from which the announcer derives an announced project's founder. A file
 * that does not read is skipped (the keys only label entries; unlock re-derives the id).
 */
export function knownPuddleKeys(env: Env, namedKeys: Iterable<Hex>): Hex[] {
  const out = new Set<Hex>();
  const dir = bindingsDir(env);
  if (existsSync(dir)) {
    for (const n of readdirSync(dir)) {
      const m = /^(\d{1,10})\.json$/.exec(n);
      if (m === null || out.size >= MAX_KNOWN_KEYS) continue;
      try {
        const b = readBinding(env, Number(m[1]));
        if (b !== null) out.add(b.pubkey);
      } catch {
        // a malformed binding labels nothing
      }
    }
  }
  for (const k of namedKeys) if (out.size < MAX_KNOWN_KEYS) out.add(k);
  return [...out];
}
