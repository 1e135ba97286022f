/**
 * The ops-puddle and this vigosrv's service-account puddle, on disk (docs/spanner.md
 * "Ops-puddle").
 *
 * - `--puddle-dir` (default /srv/vigo/puddle): `identity.pub` (64 hex, 0644) and
 *   `identity.wrapped` (0600): the service-account puddle's 32-byte Ed25519 seed sealed under
 *   masterKeyWrap(SERVICE_PUDDLE_WRAP_DOMAIN), the pubkey as AAD. No passphrase.
 * - `--ops-puddle-dir` (default /srv/vigo/ops-puddle): `ops-puddle.json` (public: name,
 *   pubkey, 0644), `members.json` (public: service-account pubkeys, member zero first, 0644),
 *   `ops-puddle.wrapped` (0600, the shared ops-puddle seed under
 *   masterKeyWrap(OPS_PUDDLE_WRAP_DOMAIN) of THIS host) and `pending-pair` (0600, only the
 *   SHA-256 of the outstanding pair code).
 *
 * Every write is atomic; every read is strict and names the file. The pair decision is pure
 * (`decideClaim`: record, code, now in; verdict and next record out).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/atomic.js';
import { VigoError } from '../platform/errors.js';
import { generateKeyPair, parseStrictJson, pubkeyHex, publicKeyFromSeed, validateName, type Hex } from '../trust/index.js';
import { MAX_OPS_MEMBERS, type PairClaimAnswer } from '../wire/ops-puddle.js';
import type { KeyWrap } from './identity.js';

export const SERVICE_PUDDLE_WRAP_DOMAIN = 'vigo/service-account-puddle/v1';
export const OPS_PUDDLE_WRAP_DOMAIN = 'vigo/ops-puddle-key/v1';
export const PAIR_TTL_MS = 5 * 60_000;
/** wrong guesses after which the outstanding offer is dead (mint a new one with `pair`) */
export const MAX_PAIR_FAILURES = 5;

const PUBLIC = 0o644;
const PRIVATE = 0o600;
const HEX64 = /^[0-9a-f]{64}$/;

export const OPS_FILES = {
  public: 'ops-puddle.json',
  members: 'members.json',
  wrapped: 'ops-puddle.wrapped',
  pending: 'pending-pair',
} as const;

export const SERVICE_FILES = { pub: 'identity.pub', wrapped: 'identity.wrapped' } as const;

/** ops-puddle names follow the user puddle's name rules (trust validateName), plus: not a 64-hex project id. */
export function validateOpsName(name: string): void {
  try {
    validateName(name);
  } catch (e) {
    throw new VigoError('E_OPS_BAD_NAME', e instanceof Error ? e.message : String(e), { hint: '1–64 of A-Z a-z 0-9 - _ ., no leading dot, not 64 hex characters' });
  }
  if (HEX64.test(name.toLowerCase())) throw new VigoError('E_OPS_BAD_NAME', `name ${JSON.stringify(name)} looks like a project id (64 hex characters)`, { hint: 'pick a friendly name' });
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new VigoError('E_OPS_UNREADABLE', `cannot read ${file}: ${(e as Error).message}`);
  }
}

function malformed(file: string, msg: string): never {
  throw new VigoError('E_OPS_MALFORMED', `${file}: ${msg}`, { hint: 'restore it from backup' });
}

function parseFile(file: string, keys: string[]): Record<string, unknown> | null {
  const text = readText(file);
  if (text === null) return null;
  let v: unknown;
  try {
    v = parseStrictJson(text, { what: file, maxBytes: 64 * 1024 });
  } catch (e) {
    malformed(file, e instanceof Error ? e.message : String(e));
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) malformed(file, 'expected a JSON object');
  const o = v as Record<string, unknown>;
  const got = Object.keys(o).sort().join(',');
  if (got !== [...keys].sort().join(',')) malformed(file, `expected exactly the fields ${keys.join(', ')}`);
  if (o.v !== 1) malformed(file, 'v must be 1');
  return o;
}

// ---- the service-account puddle ------------------------------------------------------------

export interface ServicePuddle {
  pubkey: Hex;
  dir: string;
}

/** The service-account puddle's pubkey from its public file, or null when there is none. */
export function readServicePubkey(dir: string): Hex | null {
  const f = join(dir, SERVICE_FILES.pub);
  const t = readText(f);
  if (t === null) return null;
  const k = t.trim();
  if (!HEX64.test(k)) malformed(f, 'expected 64 lowercase hex characters');
  return k;
}

/** A fresh service-account keypair, not yet on disk (written by `writeServicePuddle` once the verb succeeds). */
export function newServicePuddle(): { pubkey: Hex; seed: Uint8Array } {
  const { seed, publicKey } = generateKeyPair();
  return { pubkey: pubkeyHex(publicKey), seed };
}

export function writeServicePuddle(dir: string, wrap: KeyWrap, p: { pubkey: Hex; seed: Uint8Array }): void {
  writeFileAtomic(join(dir, SERVICE_FILES.wrapped), wrap.seal(p.pubkey, Buffer.from(p.seed)), { mode: PRIVATE, mkdirMode: 0o700 });
  writeFileAtomic(join(dir, SERVICE_FILES.pub), p.pubkey + '\n', { mode: PUBLIC, mkdirMode: 0o700 });
}

/** Opens identity.wrapped (the helper does this; nothing else needs the seed). */
export function openServicePuddle(dir: string, wrap: KeyWrap): { pubkey: Hex; seed: Buffer } {
  const pubkey = readServicePubkey(dir);
  const f = join(dir, SERVICE_FILES.wrapped);
  const text = readText(f);
  if (pubkey === null || text === null) throw new VigoError('E_OPS_NO_SERVICE_PUDDLE', `no service-account puddle in ${dir}`, { hint: 'run `vigocli spanner ops-puddle init <name>` or `ops-puddle join` first' });
  return { pubkey, seed: openSeed(wrap, pubkey, pubkey, text, f) };
}

function openSeed(wrap: KeyWrap, aad: string, pubkey: Hex, text: string, file: string): Buffer {
  const seed = wrap.open(aad, text, file);
  if (seed.length !== 32 || pubkeyHex(publicKeyFromSeed(seed)) !== pubkey) malformed(file, `the sealed key does not match its pubkey ${pubkey.slice(0, 16)}…`);
  return seed;
}

// ---- the ops-puddle ------------------------------------------------------------------------

export interface OpsPuddleStatus {
  name: string;
  pubkey: Hex;
  dir: string;
  members: Hex[];
}

/** The public files only: works on a locked vault, never unwraps. null when there is no ops-puddle. */
export function opsStatus(dir: string): OpsPuddleStatus | null {
  const pf = join(dir, OPS_FILES.public);
  const p = parseFile(pf, ['v', 'kind', 'name', 'pubkey']);
  if (p === null) return null;
  if (p.kind !== 'ops-puddle' || typeof p.name !== 'string' || typeof p.pubkey !== 'string' || !HEX64.test(p.pubkey)) malformed(pf, 'expected kind ops-puddle, name, pubkey');
  const mf = join(dir, OPS_FILES.members);
  const m = parseFile(mf, ['v', 'members']);
  if (m === null) malformed(mf, 'missing (every ops-puddle has at least member zero)');
  if (!Array.isArray(m.members) || m.members.length < 1 || m.members.length > MAX_OPS_MEMBERS || !m.members.every((x) => typeof x === 'string' && HEX64.test(x))) {
    malformed(mf, `members must be 1–${MAX_OPS_MEMBERS} pubkeys of 64 hex`);
  }
  return { name: p.name, pubkey: p.pubkey, dir, members: m.members as Hex[] };
}

export function requireOps(dir: string): OpsPuddleStatus {
  const s = opsStatus(dir);
  if (s === null) throw new VigoError('E_OPS_NONE', `no ops-puddle at ${dir}`, { hint: 'run `vigocli spanner ops-puddle init <name>` (first vigosrv) or `ops-puddle join --from <url> --code <code>` first' });
  return s;
}

function writeMembers(dir: string, members: Hex[]): void {
  writeFileAtomic(join(dir, OPS_FILES.members), JSON.stringify({ v: 1, members }, null, 2) + '\n', { mode: PUBLIC, mkdirMode: 0o700 });
}

/** Writes a whole ops-puddle (init or join): the wrapped seed first, the public file last (its presence means "exists"). */
function writeOps(dir: string, wrap: KeyWrap, name: string, pubkey: Hex, seed: Uint8Array, members: Hex[]): void {
  writeFileAtomic(join(dir, OPS_FILES.wrapped), wrap.seal(`ops-puddle:${pubkey}`, Buffer.from(seed)), { mode: PRIVATE, mkdirMode: 0o700 });
  writeMembers(dir, members);
  writeFileAtomic(join(dir, OPS_FILES.public), JSON.stringify({ v: 1, kind: 'ops-puddle', name, pubkey }, null, 2) + '\n', { mode: PUBLIC, mkdirMode: 0o700 });
}

export function openOpsSeed(dir: string, wrap: KeyWrap): { status: OpsPuddleStatus; seed: Buffer } {
  const status = requireOps(dir);
  const f = join(dir, OPS_FILES.wrapped);
  const text = readText(f);
  if (text === null) malformed(f, 'missing: this host holds the public files but not the key');
  return { status, seed: openSeed(wrap, `ops-puddle:${status.pubkey}`, status.pubkey, text, f) };
}

function refuseExisting(dir: string): void {
  const s = opsStatus(dir);
  if (s !== null) {
    throw new VigoError('E_OPS_EXISTS', `an ops-puddle (${s.name}, ed25519:${s.pubkey}) already exists at ${dir}`, { hint: 'ops-puddle init and join never overwrite one; see `vigocli spanner ops-puddle status`' });
  }
}

export interface OpsWraps {
  /** masterKeyWrap(SERVICE_PUDDLE_WRAP_DOMAIN) */
  service: KeyWrap;
  /** masterKeyWrap(OPS_PUDDLE_WRAP_DOMAIN) */
  ops: KeyWrap;
}

/** The service-account puddle to use: the one on disk, or a fresh one to write once the verb succeeds. */
function servicePuddleFor(dir: string): { pubkey: Hex; fresh: { pubkey: Hex; seed: Uint8Array } | null } {
  const have = readServicePubkey(dir);
  if (have !== null) return { pubkey: have, fresh: null };
  const fresh = newServicePuddle();
  return { pubkey: fresh.pubkey, fresh };
}

export function opsInit(opsDir: string, puddleDir: string, wraps: OpsWraps, name: string): OpsPuddleStatus & { self: Hex } {
  validateOpsName(name);
  refuseExisting(opsDir);
  const svc = servicePuddleFor(puddleDir);
  const { seed, publicKey } = generateKeyPair();
  const pubkey = pubkeyHex(publicKey);
  if (svc.fresh) writeServicePuddle(puddleDir, wraps.service, svc.fresh);
  writeOps(opsDir, wraps.ops, name, pubkey, seed, [svc.pubkey]);
  seed.fill(0);
  svc.fresh?.seed.fill(0);
  return { name, pubkey, dir: opsDir, members: [svc.pubkey], self: svc.pubkey };
}

// ---- pairing -------------------------------------------------------------------------------

export interface PendingPair {
  v: 1;
  code_sha256: string;
  /** ms since the epoch */
  expires_at: number;
  failures: number;
  /** ms since the epoch when it was claimed; a used offer is never accepted again */
  used_at: number | null;
}

export type ClaimRefusal = 'E_PAIR_NONE' | 'E_PAIR_USED' | 'E_PAIR_LOCKED' | 'E_PAIR_EXPIRED' | 'E_PAIR_WRONG';

export type ClaimDecision = { ok: true; next: PendingPair } | { ok: false; code: ClaimRefusal; message: string; next: PendingPair | null };

export const codeSha256 = (code: string): string => createHash('sha256').update(code, 'utf8').digest('hex');

/** 12 random bytes → 16 base64url characters (96 bits). */
export function newPairCode(random: (n: number) => Buffer): string {
  return random(12).toString('base64url');
}

export function newPendingPair(code: string, now: number): PendingPair {
  return { v: 1, code_sha256: codeSha256(code), expires_at: now + PAIR_TTL_MS, failures: 0, used_at: null };
}

/** Pure: is `code` the outstanding offer at `now`? The comparison is constant-time over the hashes. */
export function decideClaim(p: PendingPair | null, code: string, now: number): ClaimDecision {
  const hint = 'mint a new one with `vigocli spanner ops-puddle pair` on the inviting vigosrv';
  if (p === null) return { ok: false, code: 'E_PAIR_NONE', message: `no pair offer is outstanding (${hint})`, next: null };
  if (p.used_at !== null) return { ok: false, code: 'E_PAIR_USED', message: `the pair code was already used (single-use; ${hint})`, next: p };
  if (p.failures >= MAX_PAIR_FAILURES) return { ok: false, code: 'E_PAIR_LOCKED', message: `the pair offer is locked after ${p.failures} wrong codes (${hint})`, next: p };
  if (now >= p.expires_at) return { ok: false, code: 'E_PAIR_EXPIRED', message: `the pair code expired at ${new Date(p.expires_at).toISOString()} (${hint})`, next: p };
  const want = Buffer.from(p.code_sha256, 'hex');
  const got = Buffer.from(codeSha256(code), 'hex');
  if (want.length !== got.length || !timingSafeEqual(want, got)) {
    const next = { ...p, failures: p.failures + 1 };
    const left = MAX_PAIR_FAILURES - next.failures;
    return { ok: false, code: 'E_PAIR_WRONG', message: left > 0 ? `wrong pair code (${left} more wrong code(s) lock the offer)` : `wrong pair code; the offer is now locked (${hint})`, next };
  }
  return { ok: true, next: { ...p, used_at: now } };
}

export function readPending(dir: string): PendingPair | null {
  const f = join(dir, OPS_FILES.pending);
  const o = parseFile(f, ['v', 'code_sha256', 'expires_at', 'failures', 'used_at']);
  if (o === null) return null;
  if (typeof o.code_sha256 !== 'string' || !HEX64.test(o.code_sha256) || !Number.isSafeInteger(o.expires_at) || !Number.isSafeInteger(o.failures) || (o.failures as number) < 0 || !(o.used_at === null || Number.isSafeInteger(o.used_at))) {
    malformed(f, 'expected code_sha256 (64 hex), expires_at, failures, used_at');
  }
  return o as unknown as PendingPair;
}

function writePending(dir: string, p: PendingPair): void {
  writeFileAtomic(join(dir, OPS_FILES.pending), JSON.stringify(p) + '\n', { mode: PRIVATE });
}

/** `ops-puddle pair`: needs membership here (the wrapped key must open); overwrites any earlier offer. */
export function opsPair(dir: string, wrap: KeyWrap, now: number, random: (n: number) => Buffer): { code: string; expires_at: number } {
  openOpsSeed(dir, wrap).seed.fill(0); // proves this host holds the key, under this master key
  const code = newPairCode(random);
  const p = newPendingPair(code, now);
  writePending(dir, p);
  return { code, expires_at: p.expires_at };
}

/**
 * The inviter's side of a claim (the REST handler): decide, write the offer's new state
 * (burned, or one more failure) BEFORE answering, add the joiner to members.json, answer
 * with the seed. A refusal writes nothing but the failure count.
 */
export function claimPair(dir: string, wrap: KeyWrap, code: string, joiner: Hex, now: number): PairClaimAnswer {
  const status = requireOps(dir);
  const d = decideClaim(readPending(dir), code, now);
  if (d.next !== null && (d.ok || d.code === 'E_PAIR_WRONG')) writePending(dir, d.next);
  if (!d.ok) throw new VigoError(d.code, d.message);
  const { seed } = openOpsSeed(dir, wrap);
  const members = status.members.includes(joiner) ? status.members : [...status.members, joiner];
  if (members.length > MAX_OPS_MEMBERS) throw new VigoError('E_OPS_FULL', `the ops-puddle already has ${MAX_OPS_MEMBERS} members`);
  writeMembers(dir, members);
  const answer: PairClaimAnswer = { v: 1, name: status.name, pubkey: status.pubkey, seed: seed.toString('base64'), members };
  seed.fill(0);
  return answer;
}

/**
 * The joiner's side, after the claim answered: check the answer (the seed must give the
 * pubkey, this host must be listed), then write the service-account puddle (if new) and
 * the ops-puddle re-wrapped under THIS host's key. `svc` is what was claimed with.
 */
export function opsJoinWrite(opsDir: string, puddleDir: string, wraps: OpsWraps, svc: { pubkey: Hex; fresh: { pubkey: Hex; seed: Uint8Array } | null }, a: PairClaimAnswer): OpsPuddleStatus & { self: Hex } {
  validateOpsName(a.name);
  refuseExisting(opsDir);
  const seed = Buffer.from(a.seed, 'base64');
  if (pubkeyHex(publicKeyFromSeed(seed)) !== a.pubkey) throw new VigoError('E_OPS_BAD_ANSWER', `the inviter sent a seed that does not match the ops-puddle pubkey ${a.pubkey.slice(0, 16)}…; nothing written`);
  if (!a.members.includes(svc.pubkey)) throw new VigoError('E_OPS_BAD_ANSWER', 'the inviter did not list this vigosrv among the members; nothing written');
  if (svc.fresh) writeServicePuddle(puddleDir, wraps.service, svc.fresh);
  writeOps(opsDir, wraps.ops, a.name, a.pubkey, seed, a.members);
  seed.fill(0);
  svc.fresh?.seed.fill(0);
  return { name: a.name, pubkey: a.pubkey, dir: opsDir, members: a.members, self: svc.pubkey };
}

/** Before a join: refuse an existing ops-puddle, and pick the service-account puddle to claim with. */
export function opsJoinPrepare(opsDir: string, puddleDir: string): { pubkey: Hex; fresh: { pubkey: Hex; seed: Uint8Array } | null } {
  refuseExisting(opsDir);
  return servicePuddleFor(puddleDir);
}

export const opsExists = (dir: string): boolean => existsSync(join(dir, OPS_FILES.public));
