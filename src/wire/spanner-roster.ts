/**
 * The spanner's roster rows and the gossip messages that carry them between bolts
 * (docs/wire-formats.md "Spanner roster", docs/spanner.md). Three signed row kinds:
 *
 *   spanner-admit            a live bolt admits another (or the founder admits itself, once)
 *   spanner-revoke           the founder revokes a bolt's key (a revoke by any other key never counts)
 *   spanner-invite-consumed  a bolt records that it spent an invite token (grow-only set)
 *
 * Each is signed like every vigo object: Ed25519 over `vigo/<kind>/v1` ‖ 0x00 ‖ JCS(row
 * without sig), and names its spanner_id, so a row can be replayed neither as another kind
 * nor into another spanner. The kinds are new names for the trust core's domainTag (its
 * Kind is an open string), so src/trust is unchanged. Parsers are strict: exactly the
 * listed members, every unknown member refused by name.
 */
import { X509Certificate } from 'node:crypto';
import {
  canonicalize,
  domainTag,
  fromHex,
  preview,
  pubkeyHex,
  sha256Hex,
  signingMessage,
  toHex,
  verifyRaw,
  type Hex,
  type Signer,
} from '../trust/index.js';

export const ADMIT_KIND = 'spanner-admit';
export const REVOKE_KIND = 'spanner-revoke';
export const INVITE_CONSUMED_KIND = 'spanner-invite-consumed';
export const ROW_KINDS = [ADMIT_KIND, REVOKE_KIND, INVITE_CONSUMED_KIND] as const;
export type RowKind = (typeof ROW_KINDS)[number];

/** Limits of one row (UTF-16 code units for strings). */
export const MAX_PATTERNS = 64;
export const MAX_PATTERN_LEN = 253;
export const MAX_CA_PEM_LEN = 8192;
export const MAX_REASON_LEN = 1024;

/** Every code a row parser, verifyRow, mergeRows or the gossip message parser can give. */
export const ROSTER_CODES = [
  // the row itself (verifyRow): permanent, the row is never held
  'E_MALFORMED',
  'E_UNKNOWN_FIELD',
  'E_OVERSIZE',
  'E_BAD_SIGNATURE',
  'E_WRONG_SPANNER',
  'E_NOT_FOUNDER',
  // the row against the roster (mergeRows)
  'E_SIGNER_NOT_LIVE',
  'E_SIGNER_REVOKED',
  'E_REVOKED',
  'E_KEY_PINNED',
  'E_REVOKE_NOT_FOUNDER',
  'E_REVOKE_ROOT',
  'E_ROSTER_FULL',
  // gossip messages
  'E_MESSAGE_TOO_LARGE',
] as const;
export type RosterCode = (typeof ROSTER_CODES)[number];

export class RosterError extends Error {
  readonly code: RosterCode;
  constructor(code: RosterCode, message: string) {
    super(message);
    this.name = 'RosterError';
    this.code = code;
  }
}

export interface AdmitRow {
  v: 1;
  kind: typeof ADMIT_KIND;
  spanner_id: string;
  bolt_id: string;
  /** the admitted bolt's Ed25519 key, pinned to bolt_id from here on */
  pubkey: Hex;
  hostname: string;
  /** host:port other bolts reach it at */
  peer_addr: string;
  /** hostname patterns of the envoys it owns, first match wins; a leading `-` denies */
  patterns: string[];
  /** the CA certificate (PEM) that signs its envoys' certificates */
  envoy_ca_pem: string;
  /** unix seconds */
  admitted_at: number;
  /** the admitting bolt's key; equal to pubkey only for the founder's self-admit */
  admitted_by: Hex;
  sig: Hex;
}

export interface RevokeRow {
  v: 1;
  kind: typeof REVOKE_KIND;
  spanner_id: string;
  /** the revoked bolt's key */
  pubkey: Hex;
  revoked_at: number;
  revoked_by: Hex;
  reason: string;
  sig: Hex;
}

export interface InviteConsumedRow {
  v: 1;
  kind: typeof INVITE_CONSUMED_KIND;
  spanner_id: string;
  /** sha256 (hex) of the invite's secret token; the token itself never enters the roster */
  token_hash: Hex;
  consumed_at: number;
  consumed_by: Hex;
  sig: Hex;
}

export type RosterRow = AdmitRow | RevokeRow | InviteConsumedRow;

export type AdmitFields = Omit<AdmitRow, 'v' | 'kind' | 'admitted_by' | 'sig'>;
export type RevokeFields = Omit<RevokeRow, 'v' | 'kind' | 'revoked_by' | 'sig'>;
export type InviteConsumedFields = Omit<InviteConsumedRow, 'v' | 'kind' | 'consumed_by' | 'sig'>;

const ADMIT_KEYS = ['v', 'kind', 'spanner_id', 'bolt_id', 'pubkey', 'hostname', 'peer_addr', 'patterns', 'envoy_ca_pem', 'admitted_at', 'admitted_by', 'sig'] as const;
const REVOKE_KEYS = ['v', 'kind', 'spanner_id', 'pubkey', 'revoked_at', 'revoked_by', 'reason', 'sig'] as const;
const CONSUMED_KEYS = ['v', 'kind', 'spanner_id', 'token_hash', 'consumed_at', 'consumed_by', 'sig'] as const;

// --- field checks ---------------------------------------------------------------------

/** spanner ids and bolt ids: 1-64 of A-Z a-z 0-9 . _ -, starting with a letter or digit. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOSTNAME_RE = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);
const PEER_ADDR_RE = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9a-f:.]{2,45}\\]):([0-9]{1,5})$`);
const PATTERN_RE = /^-?[a-z0-9*?.[\]_-]+$/;
const PEM_RE = /^-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/=]{1,76}\n)+-----END CERTIFICATE-----\n$/;
const HEX64_RE = /^[0-9a-f]{64}$/;
const SIG_RE = /^[0-9a-f]{128}$/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Untrusted input in a message: the trust core's rendering, kept to 60 characters. */
function show(v: unknown): string {
  return preview(v, 60);
}

function bad(path: string, msg: string): never {
  throw new RosterError('E_MALFORMED', `${path}: ${msg}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Exactly these members: an unknown one is E_UNKNOWN_FIELD naming it, a missing one E_MALFORMED. */
function exactMembers(v: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(v)) bad(path, `expected an object, got ${show(v)}`);
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw new RosterError('E_UNKNOWN_FIELD', `${path}.${k}: unknown field (a ${path} has only ${keys.join(', ')})`);
  for (const k of keys) if (!Object.prototype.hasOwnProperty.call(v, k)) bad(`${path}.${k}`, 'missing field');
  return v;
}

function str(v: unknown, path: string, re: RegExp, what: string, max: number): string {
  if (typeof v !== 'string') bad(path, `expected ${what}, got ${show(v)}`);
  if (v.length > max) throw new RosterError('E_OVERSIZE', `${path}: ${v.length} characters (at most ${max})`);
  if (!re.test(v)) bad(path, `expected ${what}, got ${show(v)}`);
  return v;
}

function hex64(v: unknown, path: string): Hex {
  return str(v, path, HEX64_RE, '64 lowercase hex characters', 64);
}

function seconds(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(path, `expected unix seconds (a non-negative integer), got ${show(v)}`);
  return v;
}

function one(v: unknown, path: string, want: string | number): void {
  if (v !== want) bad(path, `expected ${JSON.stringify(want)}, got ${show(v)}`);
}

function spannerIdField(v: unknown, path: string): string {
  return str(v, path, ID_RE, 'a spanner id (1-64 of A-Z a-z 0-9 . _ -)', 64);
}

function peerAddr(v: unknown, path: string): string {
  const s = str(v, path, PEER_ADDR_RE, 'host:port (lowercase host name, or [IPv6])', 300);
  const port = Number(PEER_ADDR_RE.exec(s)![1]);
  if (port < 1 || port > 65535) bad(path, `port ${port} is not in 1-65535`);
  return s;
}

function patterns(v: unknown, path: string): string[] {
  if (!Array.isArray(v)) bad(path, `expected an array of hostname patterns, got ${show(v)}`);
  if (v.length === 0) bad(path, 'a bolt owns at least one hostname pattern');
  if (v.length > MAX_PATTERNS) throw new RosterError('E_OVERSIZE', `${path}: ${v.length} patterns (at most ${MAX_PATTERNS})`);
  return v.map((p, i) => str(p, `${path}[${i}]`, PATTERN_RE, 'a lowercase hostname glob (a-z 0-9 . - _ * ? [ ], optional leading -)', MAX_PATTERN_LEN));
}

// PEMs already seen to parse as a CA certificate (parsing costs more than the rest of a row).
const CA_SEEN_MAX = 4096;
const caSeen = new Set<string>();

function caPem(v: unknown, path: string): string {
  const pem = str(v, path, PEM_RE, 'one PEM CERTIFICATE block (LF line ends, ending in a newline)', MAX_CA_PEM_LEN);
  if (caSeen.has(pem)) return pem;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (e) {
    return bad(path, `not an X.509 certificate (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!cert.ca) bad(path, `certificate "${cert.subject}" is not a CA certificate (basicConstraints CA:TRUE)`);
  if (caSeen.size >= CA_SEEN_MAX) caSeen.delete(caSeen.values().next().value!);
  caSeen.add(pem);
  return pem;
}

function reasonField(v: unknown, path: string): string {
  if (typeof v !== 'string') bad(path, `expected a string, got ${show(v)}`);
  if (v.length > MAX_REASON_LEN) throw new RosterError('E_OVERSIZE', `${path}: ${v.length} characters (at most ${MAX_REASON_LEN})`);
  if (LONE_SURROGATE.test(v)) bad(path, 'holds a lone surrogate');
  return v;
}

function sig(v: unknown, path: string): Hex {
  return str(v, path, SIG_RE, 'a 128-hex-character Ed25519 signature', 128);
}

// --- parsers ----------------------------------------------------------------------------

/** Parses a row's shape (no signature check): E_MALFORMED / E_UNKNOWN_FIELD / E_OVERSIZE naming the field. */
export function parseRosterRow(v: unknown, path = 'row'): RosterRow {
  if (!isPlainObject(v)) bad(path, `expected an object, got ${show(v)}`);
  switch (v.kind) {
    case ADMIT_KIND: {
      const p = `${path}(${ADMIT_KIND})`;
      const o = exactMembers(v, p, ADMIT_KEYS);
      one(o.v, `${p}.v`, 1);
      return {
        v: 1,
        kind: ADMIT_KIND,
        spanner_id: spannerIdField(o.spanner_id, `${p}.spanner_id`),
        bolt_id: str(o.bolt_id, `${p}.bolt_id`, ID_RE, 'a bolt id (1-64 of A-Z a-z 0-9 . _ -)', 64),
        pubkey: hex64(o.pubkey, `${p}.pubkey`),
        hostname: str(o.hostname, `${p}.hostname`, HOSTNAME_RE, 'a lowercase DNS host name', 253),
        peer_addr: peerAddr(o.peer_addr, `${p}.peer_addr`),
        patterns: patterns(o.patterns, `${p}.patterns`),
        envoy_ca_pem: caPem(o.envoy_ca_pem, `${p}.envoy_ca_pem`),
        admitted_at: seconds(o.admitted_at, `${p}.admitted_at`),
        admitted_by: hex64(o.admitted_by, `${p}.admitted_by`),
        sig: sig(o.sig, `${p}.sig`),
      };
    }
    case REVOKE_KIND: {
      const p = `${path}(${REVOKE_KIND})`;
      const o = exactMembers(v, p, REVOKE_KEYS);
      one(o.v, `${p}.v`, 1);
      return {
        v: 1,
        kind: REVOKE_KIND,
        spanner_id: spannerIdField(o.spanner_id, `${p}.spanner_id`),
        pubkey: hex64(o.pubkey, `${p}.pubkey`),
        revoked_at: seconds(o.revoked_at, `${p}.revoked_at`),
        revoked_by: hex64(o.revoked_by, `${p}.revoked_by`),
        reason: reasonField(o.reason, `${p}.reason`),
        sig: sig(o.sig, `${p}.sig`),
      };
    }
    case INVITE_CONSUMED_KIND: {
      const p = `${path}(${INVITE_CONSUMED_KIND})`;
      const o = exactMembers(v, p, CONSUMED_KEYS);
      one(o.v, `${p}.v`, 1);
      return {
        v: 1,
        kind: INVITE_CONSUMED_KIND,
        spanner_id: spannerIdField(o.spanner_id, `${p}.spanner_id`),
        token_hash: hex64(o.token_hash, `${p}.token_hash`),
        consumed_at: seconds(o.consumed_at, `${p}.consumed_at`),
        consumed_by: hex64(o.consumed_by, `${p}.consumed_by`),
        sig: sig(o.sig, `${p}.sig`),
      };
    }
    default:
      return bad(`${path}.kind`, `expected one of ${ROW_KINDS.join(', ')}, got ${show(v.kind)}`);
  }
}

// --- ids, signer, time ------------------------------------------------------------------

/** A row's id: sha256 of its canonical bytes without sig (no domain tag), as for every vigo object. */
export function rowId(row: RosterRow): Hex {
  const { sig: _sig, ...body } = row;
  return sha256Hex(canonicalize(body));
}

/** The key that signed the row. */
export function rowSigner(row: RosterRow): Hex {
  return row.kind === ADMIT_KIND ? row.admitted_by : row.kind === REVOKE_KIND ? row.revoked_by : row.consumed_by;
}

/** The time the signer claims it signed at (unix seconds). */
export function rowTime(row: RosterRow): number {
  return row.kind === ADMIT_KIND ? row.admitted_at : row.kind === REVOKE_KIND ? row.revoked_at : row.consumed_at;
}

// --- signing ----------------------------------------------------------------------------

async function signRow<T extends RosterRow>(signer: Signer, body: Omit<T, 'sig'>): Promise<T> {
  const sigBytes = await signer.sign(signingMessage(body.kind, body));
  const row = { ...body, sig: toHex(sigBytes) } as T;
  parseRosterRow(row); // a row we would refuse is never minted
  return row;
}

/** The admitting bolt (signer) admits `fields.pubkey`; the founder's self-admit has fields.pubkey = its own key. */
export function signAdmit(signer: Signer, fields: AdmitFields): Promise<AdmitRow> {
  const f = fields;
  return signRow<AdmitRow>(signer, {
    v: 1,
    kind: ADMIT_KIND,
    spanner_id: f.spanner_id,
    bolt_id: f.bolt_id,
    pubkey: pubkeyHex(f.pubkey),
    hostname: f.hostname,
    peer_addr: f.peer_addr,
    patterns: [...f.patterns],
    envoy_ca_pem: f.envoy_ca_pem,
    admitted_at: f.admitted_at,
    admitted_by: pubkeyHex(signer.publicKey),
  });
}

export function signRevoke(signer: Signer, fields: RevokeFields): Promise<RevokeRow> {
  return signRow<RevokeRow>(signer, {
    v: 1,
    kind: REVOKE_KIND,
    spanner_id: fields.spanner_id,
    pubkey: pubkeyHex(fields.pubkey),
    revoked_at: fields.revoked_at,
    revoked_by: pubkeyHex(signer.publicKey),
    reason: fields.reason,
  });
}

export function signInviteConsumed(signer: Signer, fields: InviteConsumedFields): Promise<InviteConsumedRow> {
  return signRow<InviteConsumedRow>(signer, {
    v: 1,
    kind: INVITE_CONSUMED_KIND,
    spanner_id: fields.spanner_id,
    token_hash: fields.token_hash,
    consumed_at: fields.consumed_at,
    consumed_by: pubkeyHex(signer.publicKey),
  });
}

// --- verification -------------------------------------------------------------------------

/** Who the roster belongs to: the spanner id and the founder's key (the single root). */
export interface RosterContext {
  spannerId: string;
  /** the founding bolt's pubkey (64 hex): only its self-admit is a root */
  founder: Hex;
}

export type RowCheck = { ok: true; row: RosterRow; id: Hex } | { ok: false; code: RosterCode; message: string };

// Verified (id, sig) pairs: a row is verified once per process however many merges see it.
const VERIFIED_MAX = 1 << 16;
const verified = new Map<Hex, Hex>();

/**
 * Everything about a row that needs no roster: shape, spanner id, signature, and that a
 * self-admit (admitted_by = pubkey) is the founder's. Never throws.
 */
export function verifyRow(v: unknown, ctx: RosterContext): RowCheck {
  let row: RosterRow;
  try {
    row = parseRosterRow(v);
  } catch (e) {
    if (e instanceof RosterError) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
  if (row.spanner_id !== ctx.spannerId) {
    return { ok: false, code: 'E_WRONG_SPANNER', message: `row is for spanner ${JSON.stringify(row.spanner_id)}, this roster is ${JSON.stringify(ctx.spannerId)}` };
  }
  const id = rowId(row);
  if (verified.get(id) !== row.sig) {
    const signer = rowSigner(row);
    if (!verifyRaw(fromHex(signer), signingMessage(row.kind, row), fromHex(row.sig))) {
      return { ok: false, code: 'E_BAD_SIGNATURE', message: `${row.kind} ${id.slice(0, 16)}: the signature does not verify under ${signer.slice(0, 16)}…` };
    }
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
    verified.set(id, row.sig);
  }
  if (row.kind === ADMIT_KIND && row.admitted_by === row.pubkey && row.pubkey !== ctx.founder) {
    return { ok: false, code: 'E_NOT_FOUNDER', message: `self-admit of bolt ${row.bolt_id} by ${row.pubkey.slice(0, 16)}…: only the founder (${ctx.founder.slice(0, 16)}…) admits itself` };
  }
  return { ok: true, row, id };
}

/** The domain tag bytes of a row kind, as hex (docs and vectors). */
export function rowDomainTagHex(kind: RowKind): string {
  return Buffer.from(domainTag(kind), 'utf8').toString('hex');
}

// --- gossip messages ------------------------------------------------------------------------

/** A gossip message, as JSON text, is at most this many bytes; a rows message is filled up to it. */
export const MAX_GOSSIP_MESSAGE_BYTES = 1 << 20;
/** Row ids are grouped by their first byte into this many buckets for the pull. */
export const DIGEST_BUCKETS = 256;
/** A bucket's hash is the first 16 hex of sha256; an empty bucket is 16 zeros. */
export const BUCKET_HASH_LEN = 16;
const BUCKETS_RE = new RegExp(`^[0-9a-f]{${DIGEST_BUCKETS * BUCKET_HASH_LEN}}$`);

/** Each round: "my roster's digest is …" (cheap: about 200 bytes). */
export interface DigestMessage {
  v: 1;
  t: 'digest';
  spanner_id: string;
  digest: Hex;
  rows: number;
}

/** "Ours differ: here are my bucket hashes, send me the rows of the buckets that differ." */
export interface PullMessage {
  v: 1;
  t: 'pull';
  spanner_id: string;
  digest: Hex;
  buckets: string;
}

/**
 * Rows of the buckets that differed. `buckets` set: the sender's bucket hashes, asking the
 * receiver to answer with the rows it holds in buckets that still differ (once: an answer
 * has buckets null). `more`: the sender had more rows than fit in one message. Received
 * rows are `unknown`: the merge checks each (verifyRow), so one bad row is one refusal and
 * does not void the others.
 */
export interface RowsMessage {
  v: 1;
  t: 'rows';
  spanner_id: string;
  digest: Hex;
  buckets: string | null;
  more: boolean;
  rows: readonly unknown[];
}

/** Rows in one rows message, at most. */
export const MAX_ROWS_PER_MESSAGE = 4096;

export type GossipMessage = DigestMessage | PullMessage | RowsMessage;

const DIGEST_KEYS = ['v', 't', 'spanner_id', 'digest', 'rows'] as const;
const PULL_KEYS = ['v', 't', 'spanner_id', 'digest', 'buckets'] as const;
const ROWS_KEYS = ['v', 't', 'spanner_id', 'digest', 'buckets', 'more', 'rows'] as const;

/** The size of a message as it travels: UTF-8 bytes of its JSON text. */
export function gossipMessageBytes(msg: GossipMessage): number {
  return Buffer.byteLength(JSON.stringify(msg), 'utf8');
}

function bucketsField(v: unknown, path: string): string {
  if (typeof v !== 'string' || !BUCKETS_RE.test(v)) bad(path, `expected ${DIGEST_BUCKETS}×${BUCKET_HASH_LEN} lowercase hex characters`);
  return v;
}

/**
 * Parses a received message (already JSON-decoded, of `bytes` bytes on the wire). The rows
 * of a rows message are left to the merge, which checks each one.
 */
export function parseGossipMessage(v: unknown, bytes: number): GossipMessage {
  if (bytes > MAX_GOSSIP_MESSAGE_BYTES) throw new RosterError('E_MESSAGE_TOO_LARGE', `gossip message of ${bytes} bytes (at most ${MAX_GOSSIP_MESSAGE_BYTES})`);
  if (!isPlainObject(v)) bad('message', `expected an object, got ${show(v)}`);
  switch (v.t) {
    case 'digest': {
      const o = exactMembers(v, 'message(digest)', DIGEST_KEYS);
      one(o.v, 'message(digest).v', 1);
      if (typeof o.rows !== 'number' || !Number.isSafeInteger(o.rows) || o.rows < 0) bad('message(digest).rows', `expected a row count, got ${show(o.rows)}`);
      return { v: 1, t: 'digest', spanner_id: spannerIdField(o.spanner_id, 'message(digest).spanner_id'), digest: hex64(o.digest, 'message(digest).digest'), rows: o.rows };
    }
    case 'pull': {
      const o = exactMembers(v, 'message(pull)', PULL_KEYS);
      one(o.v, 'message(pull).v', 1);
      return {
        v: 1,
        t: 'pull',
        spanner_id: spannerIdField(o.spanner_id, 'message(pull).spanner_id'),
        digest: hex64(o.digest, 'message(pull).digest'),
        buckets: bucketsField(o.buckets, 'message(pull).buckets'),
      };
    }
    case 'rows': {
      const o = exactMembers(v, 'message(rows)', ROWS_KEYS);
      one(o.v, 'message(rows).v', 1);
      if (typeof o.more !== 'boolean') bad('message(rows).more', `expected true or false, got ${show(o.more)}`);
      if (!Array.isArray(o.rows)) bad('message(rows).rows', `expected an array of rows, got ${show(o.rows)}`);
      if (o.rows.length > MAX_ROWS_PER_MESSAGE) throw new RosterError('E_OVERSIZE', `message(rows).rows: ${o.rows.length} rows (at most ${MAX_ROWS_PER_MESSAGE})`);
      return {
        v: 1,
        t: 'rows',
        spanner_id: spannerIdField(o.spanner_id, 'message(rows).spanner_id'),
        digest: hex64(o.digest, 'message(rows).digest'),
        buckets: o.buckets === null ? null : bucketsField(o.buckets, 'message(rows).buckets'),
        more: o.more,
        rows: o.rows as unknown[],
      };
    }
    default:
      return bad('message.t', `expected digest, pull or rows, got ${show(v.t)}`);
  }
}
