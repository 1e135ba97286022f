/**
 * Puddle pairing across envoys (issue 12 items 3–5, docs/wire-formats.md §20): the offer
 * sentinel `~/.vigo-puddle/pair.pending` that `vigo swarm puddle pair` / `rekey-pair` write
 * as the user and the agent (root) reads and updates, and the claim request / answer of
 * `POST /swarm/puddle/pair/claim` on the swarm transport. Two subsystems speak these (the
 * puddle CLI and the swarm agent), so they live here, with strict parsers: every parser
 * refuses unknown fields, other versions and out-of-range values, naming the field.
 *
 * The decision (`decideClaim`) is pure: offer, now, the presented code, the peer's standing
 * and the proof in; a verdict and the offer as it must be stored out.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { parseStrictJson, signingMessage, verifyRaw, isHex64, type Hex } from '../trust/index.js';

export const PAIR_CODE_LEN = 16;
/** 16 base64url characters = 96 bits */
export const PAIR_CODE_BYTES = 12;
export const PAIR_TTL_S = 300;
/** wrong codes an offer takes before it is locked */
export const PAIR_MAX_FAILURES = 5;
export const PAIR_OFFER_FILE = 'pair.pending';
export const PAIR_CLAIM_PATH = '/swarm/puddle/pair/claim';
export const MAX_CLAIM_BYTES = 4096;
export const MAX_OFFER_BYTES = 4096;
/** identity.wrapped is ~500 bytes, a name claim ~300: 64 KiB is generous and bounded */
export const MAX_ANSWER_BYTES = 64 * 1024;
/** the domain-separation kind of the rekey proof of possession */
export const REKEY_PROOF_KIND = 'puddle-rekey-proof';

export type PairPurpose = 'join' | 'rekey';

export const PAIR_REFUSAL_CODES = [
  'E_PAIR_BAD_REQUEST',
  'E_PAIR_GATE',
  'E_PAIR_UNKNOWN_PEER',
  'E_PAIR_NO_OFFER',
  'E_PAIR_LOCKED',
  'E_PAIR_WRONG_CODE',
  'E_PAIR_USED',
  'E_PAIR_EXPIRED',
  'E_PAIR_PURPOSE',
  'E_PAIR_PROOF',
  'E_PAIR_RATE',
] as const;
export type PairRefusalCode = (typeof PAIR_REFUSAL_CODES)[number];

export class PairWireError extends Error {
  constructor(
    readonly code: 'E_PAIR_BAD_REQUEST' | 'E_PAIR_BAD_ANSWER' | 'E_PAIR_BAD_OFFER',
    message: string,
  ) {
    super(message);
    this.name = 'PairWireError';
  }
}

const CODE_RE = /^[A-Za-z0-9_-]{16}$/;
const USER_RE = /^[a-z_][a-z0-9_.-]{0,31}$/;
const OFFER_ID_RE = /^[0-9a-f]{16}$/;
const SIG_RE = /^[0-9a-f]{128}$/;
const ENVOY_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isPairCode(s: string): boolean {
  return CODE_RE.test(s);
}

/** SHA-256 of the code's UTF-8 bytes, lowercase hex: all that goes to disk. */
export function pairCodeHash(code: string): Hex {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}

/** Constant-time comparison of two 64-hex hashes. */
export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

// ---------------------------------------------------------------- the offer (pair.pending)

export interface PairOffer {
  v: 1;
  kind: 'puddle-pair-offer';
  /** random, public: names the offer in the rekey proof and in logs */
  offer_id: string;
  code_sha256: Hex;
  purpose: PairPurpose;
  /** the puddle's current pubkey (what a claim receives) */
  pubkey: Hex;
  /** rekey: the retired key a claimer must prove it holds (null for join) */
  old_pubkey: Hex | null;
  created_at: number;
  expires_at: number;
  failures: number;
  /** unix seconds of the successful claim; a burned offer answers E_PAIR_USED */
  burned_at: number | null;
  /** the envoy that claimed it */
  burned_by: string | null;
}

const OFFER_KEYS = ['v', 'kind', 'offer_id', 'code_sha256', 'purpose', 'pubkey', 'old_pubkey', 'created_at', 'expires_at', 'failures', 'burned_at', 'burned_by'];

function obj(v: unknown, what: string, keys: readonly string[], E: PairWireError['code']): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new PairWireError(E, `${what}: must be a JSON object`);
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!keys.includes(k)) throw new PairWireError(E, `${what}: unknown field ${k}`);
  return o;
}

/** Strict JSON, an object of exactly these keys, `v` 1 and the expected `kind`. */
function body(text: string | Uint8Array, what: string, maxBytes: number, keys: readonly string[], kind: string, E: PairWireError['code']): Record<string, unknown> {
  let v: unknown;
  try {
    v = parseStrictJson(text, { what, maxBytes });
  } catch (e) {
    throw new PairWireError(E, e instanceof Error ? e.message : String(e));
  }
  const o = obj(v, what, keys, E);
  if (o.v !== 1) throw new PairWireError(E, `${what}: v must be 1`);
  if (o.kind !== kind) throw new PairWireError(E, `${what}: kind must be "${kind}"`);
  return o;
}

function secs(o: Record<string, unknown>, k: string, what: string, E: PairWireError['code']): number {
  const n = o[k];
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new PairWireError(E, `${what}: ${k} must be unix seconds`);
  return n;
}

function hex64(o: Record<string, unknown>, k: string, what: string, E: PairWireError['code'], nullable = false): Hex | null {
  const s = o[k];
  if (nullable && s === null) return null;
  if (typeof s !== 'string' || !isHex64(s)) throw new PairWireError(E, `${what}: ${k} must be 64 lowercase hex${nullable ? ' or null' : ''}`);
  return s;
}

export function parseOffer(text: string | Uint8Array, what: string): PairOffer {
  const E = 'E_PAIR_BAD_OFFER';
  const o = body(text, what, MAX_OFFER_BYTES, OFFER_KEYS, 'puddle-pair-offer', E);
  if (typeof o.offer_id !== 'string' || !OFFER_ID_RE.test(o.offer_id)) throw new PairWireError(E, `${what}: offer_id must be 16 lowercase hex`);
  if (o.purpose !== 'join' && o.purpose !== 'rekey') throw new PairWireError(E, `${what}: purpose must be "join" or "rekey"`);
  const old = hex64(o, 'old_pubkey', what, E, true);
  if (o.purpose === 'rekey' && old === null) throw new PairWireError(E, `${what}: a rekey offer names old_pubkey`);
  const created = secs(o, 'created_at', what, E);
  const expires = secs(o, 'expires_at', what, E);
  if (expires <= created) throw new PairWireError(E, `${what}: expires_at must be after created_at`);
  const failures = o.failures;
  if (typeof failures !== 'number' || !Number.isSafeInteger(failures) || failures < 0 || failures > PAIR_MAX_FAILURES) throw new PairWireError(E, `${what}: failures must be 0–${PAIR_MAX_FAILURES}`);
  const burnedAt = o.burned_at === null ? null : secs(o, 'burned_at', what, E);
  if (o.burned_by !== null && (typeof o.burned_by !== 'string' || !ENVOY_RE.test(o.burned_by))) throw new PairWireError(E, `${what}: burned_by must be an envoy id or null`);
  return {
    v: 1,
    kind: 'puddle-pair-offer',
    offer_id: o.offer_id,
    code_sha256: hex64(o, 'code_sha256', what, E) as Hex,
    purpose: o.purpose,
    pubkey: hex64(o, 'pubkey', what, E) as Hex,
    old_pubkey: old,
    created_at: created,
    expires_at: expires,
    failures,
    burned_at: burnedAt,
    burned_by: o.burned_by,
  };
}

export function offerText(o: PairOffer): string {
  return JSON.stringify(o, null, 2) + '\n';
}

/** A new offer for `code` (the caller draws the code and the id from a CSPRNG). */
export function newOffer(a: { code: string; offerId: string; purpose: PairPurpose; pubkey: Hex; oldPubkey: Hex | null; nowS: number; ttlS?: number }): PairOffer {
  if (!isPairCode(a.code)) throw new PairWireError('E_PAIR_BAD_OFFER', 'a pair code is 16 base64url characters');
  return {
    v: 1,
    kind: 'puddle-pair-offer',
    offer_id: a.offerId,
    code_sha256: pairCodeHash(a.code),
    purpose: a.purpose,
    pubkey: a.pubkey,
    old_pubkey: a.oldPubkey,
    created_at: a.nowS,
    expires_at: a.nowS + (a.ttlS ?? PAIR_TTL_S),
    failures: 0,
    burned_at: null,
    burned_by: null,
  };
}

// ---------------------------------------------------------------- the claim request

export interface RekeyProof {
  /** the key the claimer holds now (the offer's old_pubkey) */
  old_pubkey: Hex;
  /** Ed25519 by old_pubkey over signingMessage(REKEY_PROOF_KIND, rekeyProofBody(...)) */
  sig: string;
}

export interface PairClaim {
  v: 1;
  kind: 'puddle-pair-claim';
  /** the user on the answering envoy whose offer is claimed */
  user: string;
  code: string;
  purpose: PairPurpose;
  /** rekey only */
  proof: RekeyProof | null;
}

const CLAIM_KEYS = ['v', 'kind', 'user', 'code', 'purpose', 'proof'];

/** What a rekey proof signs: binds the code (so the offer), both envoys and the old key. */
export function rekeyProofBody(a: { codeSha256: Hex; oldPubkey: Hex; claimerEnvoy: string; answererEnvoy: string }): object {
  return { kind: REKEY_PROOF_KIND, code_sha256: a.codeSha256, old_pubkey: a.oldPubkey, claimer_envoy: a.claimerEnvoy, answerer_envoy: a.answererEnvoy };
}

export function rekeyProofMessage(a: { codeSha256: Hex; oldPubkey: Hex; claimerEnvoy: string; answererEnvoy: string }): Uint8Array {
  return signingMessage(REKEY_PROOF_KIND, rekeyProofBody(a));
}

export function encodeClaim(c: PairClaim): string {
  return JSON.stringify(c);
}

export function parseClaim(text: Uint8Array | string): PairClaim {
  const E = 'E_PAIR_BAD_REQUEST';
  const what = 'pair claim';
  const o = body(text, what, MAX_CLAIM_BYTES, CLAIM_KEYS, 'puddle-pair-claim', E);
  if (typeof o.user !== 'string' || !USER_RE.test(o.user)) throw new PairWireError(E, `${what}: user must be a Unix user name`);
  if (typeof o.code !== 'string' || !CODE_RE.test(o.code)) throw new PairWireError(E, `${what}: code must be 16 base64url characters`);
  if (o.purpose !== 'join' && o.purpose !== 'rekey') throw new PairWireError(E, `${what}: purpose must be "join" or "rekey"`);
  let proof: RekeyProof | null = null;
  if (o.purpose === 'rekey') {
    const p = obj(o.proof, `${what}: proof`, ['old_pubkey', 'sig'], E);
    const old = hex64(p, 'old_pubkey', `${what}: proof`, E) as Hex;
    if (typeof p.sig !== 'string' || !SIG_RE.test(p.sig)) throw new PairWireError(E, `${what}: proof.sig must be 128 lowercase hex`);
    proof = { old_pubkey: old, sig: p.sig };
  } else if (o.proof !== null) throw new PairWireError(E, `${what}: proof must be null for a join`);
  return { v: 1, kind: 'puddle-pair-claim', user: o.user, code: o.code, purpose: o.purpose, proof };
}

// ---------------------------------------------------------------- the answer

export interface PairAnswer {
  v: 1;
  kind: 'puddle-pair-answer';
  purpose: PairPurpose;
  /** identity.pub's 64 hex */
  pubkey: Hex;
  /** identity.wrapped exactly as on disk (its KDF parameters inside) */
  wrapped: string;
  /** identity.salt, 16 raw bytes as 32 lowercase hex */
  salt: string;
  /** the KDF parameters identity.wrapped names (repeated so a reader need not parse it) */
  kdf: { alg: 'argon2id'; m_kib: number; t: number; p: number };
  /** name-claim.json's text, or null when the puddle has no name */
  name_claim: string | null;
}

const ANSWER_KEYS = ['v', 'kind', 'purpose', 'pubkey', 'wrapped', 'salt', 'kdf', 'name_claim'];

export function encodeAnswer(a: PairAnswer): string {
  return JSON.stringify(a);
}

/** Strict shape check; the caller then parses `wrapped` with the puddle's own parser. */
export function parseAnswer(text: Uint8Array | string): PairAnswer {
  const E = 'E_PAIR_BAD_ANSWER';
  const what = 'pair answer';
  const o = body(text, what, MAX_ANSWER_BYTES, ANSWER_KEYS, 'puddle-pair-answer', E);
  if (o.purpose !== 'join' && o.purpose !== 'rekey') throw new PairWireError(E, `${what}: purpose must be "join" or "rekey"`);
  const pubkey = hex64(o, 'pubkey', what, E) as Hex;
  if (typeof o.wrapped !== 'string' || o.wrapped.length === 0 || o.wrapped.length > 8192) throw new PairWireError(E, `${what}: wrapped must be identity.wrapped's text`);
  if (typeof o.salt !== 'string' || !/^[0-9a-f]{32}$/.test(o.salt)) throw new PairWireError(E, `${what}: salt must be 32 lowercase hex (16 bytes)`);
  const k = obj(o.kdf, `${what}: kdf`, ['alg', 'm_kib', 't', 'p'], E);
  if (k.alg !== 'argon2id') throw new PairWireError(E, `${what}: kdf.alg must be "argon2id"`);
  for (const f of ['m_kib', 't', 'p'] as const) {
    const n = k[f];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0) throw new PairWireError(E, `${what}: kdf.${f} must be a positive integer`);
  }
  if (o.name_claim !== null && (typeof o.name_claim !== 'string' || o.name_claim.length > 4096)) throw new PairWireError(E, `${what}: name_claim must be the claim's text or null`);
  return {
    v: 1,
    kind: 'puddle-pair-answer',
    purpose: o.purpose,
    pubkey,
    wrapped: o.wrapped,
    salt: o.salt,
    kdf: { alg: 'argon2id', m_kib: k.m_kib as number, t: k.t as number, p: k.p as number },
    name_claim: o.name_claim,
  };
}

// ---------------------------------------------------------------- the decision

export interface ClaimInput {
  /** the offer read from the user's pair.pending (null: none) */
  offer: PairOffer | null;
  nowS: number;
  claim: PairClaim;
  /** the mTLS peer's envoy id (from its certificate) */
  peerEnvoy: string;
  /** this envoy's id (what a rekey proof names as the answerer) */
  selfEnvoy: string;
  /** the peer is an envoy this one knows (its presence announced, or a configured member) */
  peerKnown: boolean;
  /** THIS envoy's puddle gate (swarm assignment: swarm AND puddle) */
  gateOpen: boolean;
  /** the claimer's puddle gate when this envoy knows it; null: not known here */
  peerGateOpen: boolean | null;
  /** whether this puddle retired `pub` (retired/<pub>.wrapped exists): a rekey proof by it is acceptable */
  isRetired: (pub: Hex) => boolean;
}

export type ClaimVerdict =
  | { ok: true; offer: PairOffer }
  | {
      ok: false;
      code: PairRefusalCode;
      status: number;
      message: string;
      /** the offer as it must now be stored (a failure counted), or null: store nothing */
      offer: PairOffer | null;
    };

function refuse(code: PairRefusalCode, status: number, message: string, offer: PairOffer | null = null): ClaimVerdict {
  return { ok: false, code, status, message, offer };
}

/**
 * One claim against one offer. Checks, in order: this envoy's puddle gate, the peer's
 * standing, the offer's existence, the lock, the code (constant time; a wrong one is
 * counted), burned, expired, the purpose, the rekey proof. Only the success burns the offer;
 * only a wrong code changes it otherwise.
 */
export function decideClaim(i: ClaimInput): ClaimVerdict {
  if (!i.gateOpen) return refuse('E_PAIR_GATE', 403, 'the puddle is not enabled on this envoy (server.yaml swarm.puddle.enabled); it answers no pair claims');
  if (i.peerGateOpen === false) return refuse('E_PAIR_GATE', 403, `envoy ${i.peerEnvoy} is outside the puddle gate`);
  if (!i.peerKnown) return refuse('E_PAIR_UNKNOWN_PEER', 403, `envoy ${i.peerEnvoy} is not a peer this envoy knows (no presence announce heard, not a configured member)`);
  const o = i.offer;
  if (o === null) return refuse('E_PAIR_NO_OFFER', 404, `user ${i.claim.user} has no open pair offer here; run \`vigo swarm puddle pair\` as that user first`);
  if (o.failures >= PAIR_MAX_FAILURES) return refuse('E_PAIR_LOCKED', 403, `the pair offer ${o.offer_id} is locked after ${PAIR_MAX_FAILURES} wrong codes; run \`vigo swarm puddle pair\` again for a new code`);
  if (!sameHash(pairCodeHash(i.claim.code), o.code_sha256)) {
    const failures = o.failures + 1;
    const left = PAIR_MAX_FAILURES - failures;
    return refuse('E_PAIR_WRONG_CODE', 403, `wrong pair code for offer ${o.offer_id}${left > 0 ? ` (${left} more tries before it locks)` : '; the offer is now locked'}`, { ...o, failures });
  }
  if (o.burned_at !== null) return refuse('E_PAIR_USED', 410, `the pair code was already used (offer ${o.offer_id}, by envoy ${o.burned_by ?? '?'}); run \`vigo swarm puddle pair\` again for a new one`);
  if (i.nowS >= o.expires_at) return refuse('E_PAIR_EXPIRED', 410, `the pair code expired (offer ${o.offer_id}, valid until ${new Date(o.expires_at * 1000).toISOString()}); run \`vigo swarm puddle pair\` again`);
  if (i.claim.purpose === 'rekey') {
    const p = i.claim.proof;
    if (p === null) return refuse('E_PAIR_PROOF', 403, 'a rekey claim must prove possession of the old key');
    if (p.old_pubkey === o.pubkey) return refuse('E_PAIR_PURPOSE', 409, `the claimer already holds ${o.pubkey}: nothing to adopt`);
    // a rekey-pair offer names the key it retired; a later plain `pair` offer serves too, for any key this puddle retired
    if (o.old_pubkey !== null ? p.old_pubkey !== o.old_pubkey : !i.isRetired(p.old_pubkey)) {
      return refuse('E_PAIR_PROOF', 403, `the proof is by ${p.old_pubkey}, which is not a key this puddle retired${o.old_pubkey !== null ? ` (this rekey retired ${o.old_pubkey})` : ''}`);
    }
    const msg = rekeyProofMessage({ codeSha256: o.code_sha256, oldPubkey: p.old_pubkey, claimerEnvoy: i.peerEnvoy, answererEnvoy: i.selfEnvoy });
    let good = false;
    try {
      good = verifyRaw(Buffer.from(p.old_pubkey, 'hex'), msg, Buffer.from(p.sig, 'hex'));
    } catch {
      good = false;
    }
    if (!good) return refuse('E_PAIR_PROOF', 403, `the rekey proof does not verify under ${p.old_pubkey} for this offer and these two envoys`);
  }
  return { ok: true, offer: { ...o, burned_at: i.nowS, burned_by: i.peerEnvoy } };
}

// ---------------------------------------------------------------- per-peer rate limit

/** A token bucket per peer envoy id: `burst` claims, refilled at `perMinute`. Time in ms. */
export class ClaimRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  constructor(
    readonly burst = 5,
    readonly perMinute = 6,
    readonly maxPeers = 4096,
  ) {}

  take(peer: string, nowMs: number): boolean {
    let b = this.buckets.get(peer);
    if (b === undefined) {
      if (this.buckets.size >= this.maxPeers) {
        for (const [k, v] of this.buckets) if (v.tokens + ((nowMs - v.at) * this.perMinute) / 60_000 >= this.burst) this.buckets.delete(k);
        if (this.buckets.size >= this.maxPeers) return false;
      }
      b = { tokens: this.burst, at: nowMs };
      this.buckets.set(peer, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + (Math.max(0, nowMs - b.at) * this.perMinute) / 60_000);
    b.at = nowMs;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
