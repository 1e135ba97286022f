/**
 * Envelope gossip between envoys (docs/gitback.md "Envelope gossip", docs/wire-formats.md
 * §15, frozen by test/vectors/gitback-envelope-gossip.json). Four routes on the swarm
 * transport (mTLS; the peer is its certificate's envoy id):
 *
 *   POST /swarm/gitback/envelopes/<pid>/revokes   {"v":1,"envelopes":[revoke…]}   (1..64)
 *   POST /swarm/gitback/envelopes/<pid>/leaves    {"v":1,"envelopes":[leave…]}    (1..64)
 *        → 200 {"v":1,"accepted":[id…],"held":[id…],"refused":[{id,code,message}…]}
 *   GET  /swarm/gitback/envelopes/<pid>/digest[?buckets=1]
 *        → 200 {"v":1,"project_id","count","hash"[,"buckets":[{count,hash}×16]]}
 *   GET  /swarm/gitback/envelopes/<pid>/all[?buckets=0,3,f]
 *        → 200 {"v":1,"project_id","revokes":[…],"leaves":[…]}
 *
 * The digest is over the envelopes IN FORCE (standing revokes and verified leaves), by id:
 * hash = sha256("vigo/envelope-digest/v1" ‖ 0x00 ‖ for each, sorted by id: "<kind>:<id>\n").
 * Bucket b (0..15) is the same over the ids whose first hex digit is b. Two equal stores
 * cost one GET of about 150 bytes; a small difference costs the bucket list (≈1.3 KB) and
 * the envelopes of the buckets that differ.
 */
import { sha256Hex, type Hex, type LeaveEnvelope, type RevokeEnvelope } from '../trust/index.js';

export const ENVELOPE_GOSSIP_PREFIX = '/swarm/gitback/envelopes';
export const DIGEST_DOMAIN = 'vigo/envelope-digest/v1';
export const DIGEST_BUCKETS = 16;
/** Envelopes in one POST. */
export const MAX_POST_ENVELOPES = 64;
/** Body cap of a POST (64 revokes with admin chains of a few tokens fit well under it). */
export const MAX_POST_BYTES = 512 * 1024;
/** Largest `all` answer read or served (a store past it is served bucket by bucket). */
export const MAX_ALL_BYTES = 8 * 1024 * 1024;
/** Largest digest answer read. */
export const MAX_DIGEST_BYTES = 4 * 1024;
/** Below this many envelopes a mismatch pulls `all` directly: the bucket list would cost more than it saves. */
export const DIRECT_PULL_BELOW = 32;

export type EnvelopeKind = 'revoke' | 'leave';

export interface DigestBucket {
  count: number;
  hash: Hex;
}

export interface EnvelopeDigest {
  v: 1;
  project_id: Hex;
  count: number;
  hash: Hex;
  buckets?: DigestBucket[];
}

export interface EnvelopePost {
  v: 1;
  envelopes: unknown[];
}

export interface GossipRefusal {
  id: string;
  code: string;
  message: string;
}

export interface PostAnswer {
  v: 1;
  /** stored here by this POST */
  accepted: Hex[];
  /** already held (idempotent: a re-send changes nothing) */
  held: Hex[];
  refused: GossipRefusal[];
}

export interface AllAnswer {
  v: 1;
  project_id: Hex;
  revokes: unknown[];
  leaves: unknown[];
}

/** What one envelope contributes to a digest. */
export interface DigestEntry {
  kind: EnvelopeKind;
  id: Hex;
}

export class GossipWireError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'GossipWireError';
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

function bad(what: string, why: string): never {
  throw new GossipWireError('E_GOSSIP_BODY', `${what}: ${why}`);
}

export function bucketOf(id: Hex): number {
  return parseInt(id[0]!, 16);
}

function hashOf(entries: readonly DigestEntry[]): Hex {
  return sha256Hex(`${DIGEST_DOMAIN}\0${entries.map((e) => `${e.kind}:${e.id}\n`).join('')}`);
}

/** The digest of a set of envelope ids (duplicates count once); with `buckets`, the 16 bucket hashes too. */
export function computeDigest(projectId: Hex, entries: readonly DigestEntry[], buckets = false): EnvelopeDigest {
  const byId = new Map<Hex, DigestEntry>();
  for (const e of entries) byId.set(e.id, e);
  const sorted = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const d: EnvelopeDigest = { v: 1, project_id: projectId, count: sorted.length, hash: hashOf(sorted) };
  if (buckets) {
    d.buckets = [];
    for (let b = 0; b < DIGEST_BUCKETS; b++) {
      const in_ = sorted.filter((e) => bucketOf(e.id) === b);
      d.buckets.push({ count: in_.length, hash: hashOf(in_) });
    }
  }
  return d;
}

/** The buckets where two bucketed digests differ (every bucket when either has none). */
export function differingBuckets(a: EnvelopeDigest, b: EnvelopeDigest): number[] {
  const out: number[] = [];
  for (let i = 0; i < DIGEST_BUCKETS; i++) {
    const x = a.buckets?.[i];
    const y = b.buckets?.[i];
    if (x === undefined || y === undefined || x.hash !== y.hash || x.count !== y.count) out.push(i);
  }
  return out;
}

function object(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(what, 'expected a JSON object');
  return v as Record<string, unknown>;
}

function only(o: Record<string, unknown>, keys: readonly string[], what: string): void {
  for (const k of Object.keys(o)) if (!keys.includes(k)) bad(what, `unknown field ${JSON.stringify(k.slice(0, 40))}`);
}

function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(what, 'expected a non-negative integer');
  return v;
}

function hex(v: unknown, what: string): Hex {
  if (typeof v !== 'string' || !HEX64.test(v)) bad(what, 'expected 64 lowercase hex digits');
  return v;
}

function parse(body: Buffer | string, max: number, what: string): unknown {
  const len = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (len > max) throw new GossipWireError('E_GOSSIP_TOO_LARGE', `${what}: ${len} bytes (at most ${max})`);
  try {
    return JSON.parse(typeof body === 'string' ? body : body.toString('utf8')) as unknown;
  } catch {
    return bad(what, 'not JSON');
  }
}

/** A POST body: 1..64 envelopes (each is checked by the trust core afterwards). */
export function parseEnvelopePost(body: Buffer | string, what = 'envelope post'): EnvelopePost {
  const o = object(parse(body, MAX_POST_BYTES, what), what);
  only(o, ['v', 'envelopes'], what);
  if (o.v !== 1) bad(`${what}.v`, 'expected 1');
  if (!Array.isArray(o.envelopes) || o.envelopes.length === 0 || o.envelopes.length > MAX_POST_ENVELOPES) bad(`${what}.envelopes`, `expected a list of 1 to ${MAX_POST_ENVELOPES} envelopes`);
  return { v: 1, envelopes: o.envelopes };
}

export function encodeEnvelopePost(envelopes: ReadonlyArray<RevokeEnvelope | LeaveEnvelope>): string {
  return JSON.stringify({ v: 1, envelopes });
}

export function parseDigest(body: Buffer | string, projectId: Hex, what = 'envelope digest'): EnvelopeDigest {
  const o = object(parse(body, MAX_DIGEST_BYTES, what), what);
  only(o, ['v', 'project_id', 'count', 'hash', 'buckets'], what);
  if (o.v !== 1) bad(`${what}.v`, 'expected 1');
  const pid = hex(o.project_id, `${what}.project_id`);
  if (pid !== projectId) throw new GossipWireError('E_WRONG_PROJECT', `${what}: digest of project ${pid}, not ${projectId}`);
  const d: EnvelopeDigest = { v: 1, project_id: pid, count: count(o.count, `${what}.count`), hash: hex(o.hash, `${what}.hash`) };
  if (o.buckets !== undefined) {
    if (!Array.isArray(o.buckets) || o.buckets.length !== DIGEST_BUCKETS) bad(`${what}.buckets`, `expected ${DIGEST_BUCKETS} buckets`);
    d.buckets = o.buckets.map((b, i) => {
      const bo = object(b, `${what}.buckets[${i}]`);
      only(bo, ['count', 'hash'], `${what}.buckets[${i}]`);
      return { count: count(bo.count, `${what}.buckets[${i}].count`), hash: hex(bo.hash, `${what}.buckets[${i}].hash`) };
    });
  }
  return d;
}

export function parsePostAnswer(body: Buffer | string, what = 'envelope post answer'): PostAnswer {
  const o = object(parse(body, 1024 * 1024, what), what);
  if (o.v !== 1) bad(`${what}.v`, 'expected 1');
  const ids = (v: unknown, w: string): Hex[] => {
    if (!Array.isArray(v) || v.length > MAX_POST_ENVELOPES) bad(w, 'expected a list of ids');
    return v.map((x, i) => hex(x, `${w}[${i}]`));
  };
  if (!Array.isArray(o.refused) || o.refused.length > MAX_POST_ENVELOPES) bad(`${what}.refused`, 'expected a list');
  return {
    v: 1,
    accepted: ids(o.accepted, `${what}.accepted`),
    held: ids(o.held, `${what}.held`),
    refused: o.refused.map((r, i) => {
      const ro = object(r, `${what}.refused[${i}]`);
      return { id: String(ro.id).slice(0, 80), code: String(ro.code).slice(0, 64), message: String(ro.message).slice(0, 2048) };
    }),
  };
}

export function parseAllAnswer(body: Buffer | string, projectId: Hex, what = 'envelope all'): AllAnswer {
  const o = object(parse(body, MAX_ALL_BYTES, what), what);
  only(o, ['v', 'project_id', 'revokes', 'leaves'], what);
  if (o.v !== 1) bad(`${what}.v`, 'expected 1');
  const pid = hex(o.project_id, `${what}.project_id`);
  if (pid !== projectId) throw new GossipWireError('E_WRONG_PROJECT', `${what}: envelopes of project ${pid}, not ${projectId}`);
  if (!Array.isArray(o.revokes)) bad(`${what}.revokes`, 'expected a list');
  if (!Array.isArray(o.leaves)) bad(`${what}.leaves`, 'expected a list');
  return { v: 1, project_id: pid, revokes: o.revokes, leaves: o.leaves };
}

/** `?buckets=0,3,f` → [0, 3, 15]; null for absent (every bucket). */
export function parseBucketQuery(q: string | null): number[] | null {
  if (q === null) return null;
  if (!/^[0-9a-f](,[0-9a-f]){0,15}$/.test(q)) throw new GossipWireError('E_GOSSIP_BODY', `buckets: expected hex digits separated by commas, got ${JSON.stringify(q.slice(0, 40))}`);
  return [...new Set(q.split(',').map((c) => parseInt(c, 16)))].sort((a, b) => a - b);
}

export function bucketQuery(buckets: readonly number[]): string {
  return buckets.map((b) => b.toString(16)).join(',');
}

export function gossipPath(projectId: Hex, what: 'revokes' | 'leaves' | 'digest' | 'all'): string {
  return `${ENVELOPE_GOSSIP_PREFIX}/${projectId}/${what}`;
}
