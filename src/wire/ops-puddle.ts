/**
 * The ops-puddle's two wire formats (docs/wire-formats.md §23):
 *
 * - the pair claim, `POST /api/v1/spanner/ops-puddle/pair-claim` (admin bearer token over
 *   TLS): request `{"v":1,"code":<16 base64url>,"pubkey":<64 hex>}` (the joining vigosrv's
 *   service-account puddle), answer `{"v":1,"name","pubkey","seed":<base64 of 32 bytes>,
 *   "members":[<64 hex>…]}`;
 * - the service-account helper socket (/var/run/vigo/puddle.sock): one JSON object per
 *   line each way, like the user session helper. Requests `{"op":"STATUS"}`,
 *   `{"op":"SIGN","msg":<base64>}`, `{"op":"FOUND_OPS_PROJECT","handle":"stacks",
 *   "scope":"members-only"}`; answers `{"ok":true,…}` or `{"ok":false,"code","message"}`.
 *
 * Every parser is strict: unknown keys, wrong types and out-of-range values are refused,
 * naming the field.
 */
import { VigoError } from '../platform/errors.js';

export const PAIR_CLAIM_PATH = '/api/v1/spanner/ops-puddle/pair-claim';
export const PAIR_CODE_RE = /^[A-Za-z0-9_-]{16}$/;
export const MAX_OPS_MEMBERS = 256;
export const MAX_HELPER_LINE_BYTES = 1024 * 1024;
/** The only project FOUND_OPS_PROJECT mints, and its only scope. */
export const OPS_PROJECT_HANDLE = 'stacks';
export const OPS_PROJECT_SCOPE = 'members-only';

const HEX64 = /^[0-9a-f]{64}$/;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface PairClaimRequest {
  v: 1;
  code: string;
  pubkey: string;
}

export interface PairClaimAnswer {
  v: 1;
  name: string;
  pubkey: string;
  seed: string;
  members: string[];
}

function bad(what: string, msg: string): never {
  throw new VigoError('E_OPS_WIRE', `${what}: ${msg}`);
}

function object(v: unknown, what: string, keys: string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(what, 'expected a JSON object');
  const o = v as Record<string, unknown>;
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length > 0) bad(what, `unknown field ${JSON.stringify(extra[0])}`);
  for (const k of keys) if (!(k in o)) bad(what, `missing field ${JSON.stringify(k)}`);
  if (o.v !== 1) bad(what, `v must be 1, not ${JSON.stringify(o.v)}`);
  return o;
}

function hex64(v: unknown, what: string): string {
  if (typeof v !== 'string' || !HEX64.test(v)) bad(what, 'expected 64 lowercase hex characters');
  return v;
}

export function parsePairClaimRequest(v: unknown, what = 'pair-claim request'): PairClaimRequest {
  const o = object(v, what, ['v', 'code', 'pubkey']);
  if (typeof o.code !== 'string' || !PAIR_CODE_RE.test(o.code)) bad(`${what} code`, 'expected 16 base64url characters');
  return { v: 1, code: o.code, pubkey: hex64(o.pubkey, `${what} pubkey`) };
}

export function parsePairClaimAnswer(v: unknown, what = 'pair-claim answer'): PairClaimAnswer {
  const o = object(v, what, ['v', 'name', 'pubkey', 'seed', 'members']);
  if (typeof o.name !== 'string' || o.name.length < 1 || o.name.length > 64) bad(`${what} name`, 'expected a string of 1–64 characters');
  const pubkey = hex64(o.pubkey, `${what} pubkey`);
  if (typeof o.seed !== 'string' || !B64.test(o.seed) || Buffer.from(o.seed, 'base64').length !== 32) bad(`${what} seed`, 'expected base64 of 32 bytes');
  if (!Array.isArray(o.members) || o.members.length < 1 || o.members.length > MAX_OPS_MEMBERS) bad(`${what} members`, `expected 1–${MAX_OPS_MEMBERS} pubkeys`);
  const members = o.members.map((m, i) => hex64(m, `${what} members[${i}]`));
  if (new Set(members).size !== members.length) bad(`${what} members`, 'a pubkey is listed twice');
  return { v: 1, name: o.name, pubkey, seed: o.seed, members };
}

export type HelperRequest = { op: 'STATUS' } | { op: 'SIGN'; msg: string } | { op: 'FOUND_OPS_PROJECT'; handle: typeof OPS_PROJECT_HANDLE; scope: typeof OPS_PROJECT_SCOPE };

export interface HelperError {
  ok: false;
  code: string;
  message: string;
}

export interface HelperStatus {
  ok: true;
  pubkey: string;
  ops_pubkey: string | null;
  pid: number;
}

export interface HelperSigned {
  ok: true;
  sig: string;
}

/** The project FOUND_OPS_PROJECT minted: its id, founder (the ops-puddle) and this host's chain. */
export interface HelperFounded {
  ok: true;
  project_id: string;
  founder: string;
  /** [founder's bootstrap token, member token for this host's service-account puddle] */
  chain: unknown[];
}

export type HelperAnswer = HelperStatus | HelperSigned | HelperFounded | HelperError;

/** A request line → the request, or the error answer to send back. */
export function parseHelperRequest(line: string): HelperRequest | HelperError {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { ok: false, code: 'E_BAD_REQUEST', message: 'request is not JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, code: 'E_BAD_REQUEST', message: 'request must be an object' };
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  if (o.op === 'STATUS' && keys === 'op') return { op: 'STATUS' };
  if (o.op === 'SIGN' && keys === 'msg,op' && typeof o.msg === 'string' && B64.test(o.msg)) return { op: 'SIGN', msg: o.msg };
  if (o.op === 'FOUND_OPS_PROJECT' && keys === 'handle,op,scope') {
    if (o.handle !== OPS_PROJECT_HANDLE || o.scope !== OPS_PROJECT_SCOPE) {
      return { ok: false, code: 'E_BAD_REQUEST', message: `FOUND_OPS_PROJECT mints only handle "${OPS_PROJECT_HANDLE}" with scope "${OPS_PROJECT_SCOPE}"` };
    }
    return { op: 'FOUND_OPS_PROJECT', handle: OPS_PROJECT_HANDLE, scope: OPS_PROJECT_SCOPE };
  }
  return { ok: false, code: 'E_BAD_REQUEST', message: 'unknown request (expected STATUS, SIGN with msg, or FOUND_OPS_PROJECT with handle and scope)' };
}

/** An answer line → the answer; throws E_OPS_WIRE on anything else. */
export function parseHelperAnswer(line: string, op: HelperRequest['op']): HelperAnswer {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    bad('puddle.sock answer', 'not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('puddle.sock answer', 'expected a JSON object');
  const o = v as Record<string, unknown>;
  if (o.ok === false) {
    if (typeof o.code !== 'string' || typeof o.message !== 'string') bad('puddle.sock answer', 'an error needs code and message');
    return { ok: false, code: o.code, message: o.message };
  }
  if (o.ok !== true) bad('puddle.sock answer', 'ok must be true or false');
  switch (op) {
    case 'STATUS':
      if (typeof o.pid !== 'number' || !(o.ops_pubkey === null || (typeof o.ops_pubkey === 'string' && HEX64.test(o.ops_pubkey)))) bad('puddle.sock STATUS answer', 'expected pubkey, ops_pubkey, pid');
      return { ok: true, pubkey: hex64(o.pubkey, 'puddle.sock STATUS answer pubkey'), ops_pubkey: o.ops_pubkey, pid: o.pid };
    case 'SIGN':
      if (typeof o.sig !== 'string' || !/^[0-9a-f]{128}$/.test(o.sig)) bad('puddle.sock SIGN answer', 'expected sig of 128 hex');
      return { ok: true, sig: o.sig };
    case 'FOUND_OPS_PROJECT':
      if (!Array.isArray(o.chain) || o.chain.length !== 2) bad('puddle.sock FOUND_OPS_PROJECT answer', 'expected a chain of 2 tokens');
      return { ok: true, project_id: hex64(o.project_id, 'project_id'), founder: hex64(o.founder, 'founder'), chain: o.chain };
  }
}
