/**
 * Forwarding a per-bolt admin request bolt to bolt. An admin authenticated at bolt A asks
 * for bolt B's envoys (or runs, push, drain, reassign…); A carries the request to B as a
 * **forwarded call**, signed with A's bolt key (kind `spanner-forward`) over the spanner
 * id, A's key, B's key, the method, the path with its query, the time, a fresh nonce, the
 * SHA-256 of the body's canonical JSON and the admin A authenticated (name and role).
 * Authority: "a live bolt vouches for an admin it authenticated": B runs the request as
 * that admin with that role (the route's own role rules apply again at B), and refuses it
 * when the sender is not live in B's roster, the call is not addressed to B, it is outside
 * the clock window, its body is not the one signed, the signature does not verify, or its
 * nonce was seen already (a replay). A forwarded call is never forwarded again.
 *
 * The check is pure (no clock, no sockets): the caller passes the time and the nonce cache.
 */
import { VigoError } from '../platform/errors.js';
import { canonicalize, fromHex, sha256Hex, signingMessage, toHex, verifyRaw, type Hex, type Signer } from '../trust/index.js';
import { apiRaw, type ApiResponse } from '../wire/rest-client.js';
import { CLOCK_SKEW_S, type Peer } from './client.js';

export const FORWARD_KIND = 'spanner-forward';
/** a forwarded call gives up after this long */
export const FORWARD_TIMEOUT_MS = 10_000;
/** the largest admin body a bolt forwards (per-bolt verbs send a few hundred bytes) */
export const MAX_FORWARD_BODY_BYTES = 256 * 1024;
/** the largest answer a bolt takes back from the target (a bolt's envoy list: ~200 B an envoy) */
export const MAX_FORWARD_ANSWER_BYTES = 16 * 1024 * 1024;
/** nonces remembered per bolt at once (each for CLOCK_SKEW_S); past it new calls are refused */
export const MAX_FORWARD_NONCES = 100_000;

/** The headers of a forwarded call (lowercase, as node gives them). */
export const FORWARD_HEADERS = {
  from: 'x-vigo-bolt',
  at: 'x-vigo-bolt-at',
  sig: 'x-vigo-bolt-sig',
  to: 'x-vigo-forward-to',
  nonce: 'x-vigo-forward-nonce',
  body: 'x-vigo-forward-body-sha256',
  admin: 'x-vigo-forward-admin',
} as const;

/** Answer headers the forwarding bolt adds: who answered, and the round trip it measured. */
export const ANSWERED_BY_HEADER = 'x-vigo-answered-by';
export const FORWARD_MS_HEADER = 'x-vigo-forward-ms';

/** The admin the forwarding bolt authenticated: `<role>:<name>` in X-Vigo-Forward-Admin. */
export interface ForwardedAdmin {
  name: string;
  role: 'admin' | 'viewer' | 'compliance';
}

interface ForwardBody {
  spanner_id: string;
  from: Hex;
  to: Hex;
  method: string;
  path: string;
  at: number;
  nonce: Hex;
  body_sha256: Hex;
  admin: ForwardedAdmin;
}

/** Every refusal of a forwarded call, by code (all answered 401 but E_FORWARD_BUSY, 503). */
export const FORWARD_CODES = ['E_FORWARD_MALFORMED', 'E_FORWARD_STALE', 'E_FORWARD_NOT_FOR_US', 'E_FORWARD_NOT_LIVE', 'E_FORWARD_BODY_MISMATCH', 'E_FORWARD_SIGNATURE', 'E_FORWARD_REPLAY', 'E_FORWARD_BUSY'] as const;
export type ForwardCode = (typeof FORWARD_CODES)[number];

export const bodySha256 = (body: unknown): Hex => sha256Hex(canonicalize(body ?? null));

/** Whether a request claims to be a forwarded call (it then carries no bearer token). */
export function isForwarded(headers: Record<string, string | string[] | undefined>): boolean {
  return headers[FORWARD_HEADERS.nonce] !== undefined;
}

/** The signed headers of a forwarded call. */
export async function signForward(
  signer: Signer,
  f: { spannerId: string; to: Hex; method: string; path: string; body: unknown; admin: ForwardedAdmin; nowS: number; nonce: Hex },
): Promise<Record<string, string>> {
  const from = toHex(signer.publicKey);
  const b: ForwardBody = { spanner_id: f.spannerId, from, to: f.to, method: f.method, path: f.path, at: f.nowS, nonce: f.nonce, body_sha256: bodySha256(f.body), admin: f.admin };
  const sig = toHex(await signer.sign(signingMessage(FORWARD_KIND, b)));
  const H = FORWARD_HEADERS;
  return { [H.from]: from, [H.at]: String(f.nowS), [H.sig]: sig, [H.to]: f.to, [H.nonce]: f.nonce, [H.body]: b.body_sha256, [H.admin]: `${f.admin.role}:${f.admin.name}` };
}

/**
 * Nonces of accepted forwarded calls, each kept until its call leaves the clock window
 * (`at` + CLOCK_SKEW_S). Bounded: at MAX_FORWARD_NONCES live entries new calls are refused
 * (E_FORWARD_BUSY) rather than old nonces forgotten, which would let their replays in.
 */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly max = MAX_FORWARD_NONCES) {}

  has(key: string, nowS: number): boolean {
    const exp = this.seen.get(key);
    return exp !== undefined && exp >= nowS;
  }

  /** false when full of live entries */
  add(key: string, expiresS: number, nowS: number): boolean {
    if (this.seen.size >= this.max) for (const [k, exp] of this.seen) if (exp < nowS) this.seen.delete(k);
    if (this.seen.size >= this.max) return false;
    this.seen.set(key, expiresS);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}

export type ForwardCheck = { ok: true; from: Hex; admin: ForwardedAdmin } | { ok: false; code: ForwardCode; message: string };

const ADMIN = /^(admin|viewer|compliance):([A-Za-z0-9._@-]{1,64})$/;

/**
 * Checks a received forwarded call. `path` is the request's path with its query exactly as
 * received; `body` its parsed JSON body (undefined without one). The nonce is recorded only
 * once everything else passed, so a forged call cannot fill the cache or burn a nonce.
 */
export function checkForward(
  headers: Record<string, string | string[] | undefined>,
  r: { spannerId: string; self: Hex; method: string; path: string; body: unknown; nowS: number; isLive: (key: Hex) => boolean; nonces: NonceCache },
): ForwardCheck {
  const h = (n: string): string | undefined => (typeof headers[n] === 'string' ? (headers[n] as string) : undefined);
  const H = FORWARD_HEADERS;
  const [from, atText, sig, to, nonce, bodyHash, adminText] = [h(H.from), h(H.at), h(H.sig), h(H.to), h(H.nonce), h(H.body), h(H.admin)];
  const hex = (s: string | undefined, n: number): s is string => s !== undefined && new RegExp(`^[0-9a-f]{${n}}$`).test(s);
  const admin = adminText === undefined ? null : ADMIN.exec(adminText);
  if (!hex(from, 64) || !hex(to, 64) || !hex(sig, 128) || !hex(nonce, 32) || !hex(bodyHash, 64) || !atText || !/^\d{1,12}$/.test(atText) || admin === null) {
    return { ok: false, code: 'E_FORWARD_MALFORMED', message: `forwarded call: ${Object.values(H).join(', ')} are required (hex keys, unix seconds, hex signature, 16-byte hex nonce, body sha256, role:name)` };
  }
  const at = Number(atText);
  if (Math.abs(at - r.nowS) > CLOCK_SKEW_S) return { ok: false, code: 'E_FORWARD_STALE', message: `forwarded call: signed at ${at}, ${at - r.nowS} s from this bolt's clock (at most ${CLOCK_SKEW_S} s apart; check NTP on both)` };
  if (to !== r.self) return { ok: false, code: 'E_FORWARD_NOT_FOR_US', message: `forwarded call: addressed to ${to.slice(0, 16)}…, not to this bolt` };
  if (!r.isLive(from)) return { ok: false, code: 'E_FORWARD_NOT_LIVE', message: `forwarded call: ${from.slice(0, 16)}… is not a live bolt of this roster` };
  if (bodySha256(r.body) !== bodyHash) return { ok: false, code: 'E_FORWARD_BODY_MISMATCH', message: 'forwarded call: the body is not the one the sender signed' };
  const who: ForwardedAdmin = { role: admin[1] as ForwardedAdmin['role'], name: admin[2]! };
  const b: ForwardBody = { spanner_id: r.spannerId, from, to, method: r.method, path: r.path, at, nonce, body_sha256: bodyHash, admin: who };
  if (!verifyRaw(fromHex(from), signingMessage(FORWARD_KIND, b), fromHex(sig))) return { ok: false, code: 'E_FORWARD_SIGNATURE', message: 'forwarded call: the signature does not verify (not by that bolt, or not for this method, path, admin or spanner)' };
  const key = `${from}:${nonce}`;
  if (r.nonces.has(key, r.nowS)) return { ok: false, code: 'E_FORWARD_REPLAY', message: 'forwarded call: this nonce was used already (a replay)' };
  if (!r.nonces.add(key, at + CLOCK_SKEW_S, r.nowS)) return { ok: false, code: 'E_FORWARD_BUSY', message: `forwarded call: ${MAX_FORWARD_NONCES} calls in the last ${CLOCK_SKEW_S} s; try again later` };
  return { ok: true, from, admin: who };
}

/** One forwarded call to `peer`; resolves for every HTTP status, rejects on transport errors and oversize answers. */
export async function forwardCall<T>(
  signer: Signer,
  f: { spannerId: string; peer: Peer; method: string; path: string; body: unknown; admin: ForwardedAdmin; nowS: number; nonce: Hex; timeoutMs?: number },
): Promise<ApiResponse<T>> {
  const headers = await signForward(signer, { ...f, to: f.peer.pubkey });
  const payload = f.body === undefined || f.body === null ? undefined : f.body;
  if (payload !== undefined && Buffer.byteLength(JSON.stringify(payload)) > MAX_FORWARD_BODY_BYTES) {
    throw new VigoError('E_FORWARD_TOO_LARGE', `the request body is over ${MAX_FORWARD_BODY_BYTES} bytes, the most a bolt forwards`);
  }
  const ms = f.timeoutMs ?? FORWARD_TIMEOUT_MS;
  return apiRaw<T>({ server: `https://${f.peer.addr}`, ca: f.peer.ca, headers, maxResponseBytes: MAX_FORWARD_ANSWER_BYTES, deadlineMs: ms }, f.method, f.path, payload, ms);
}
