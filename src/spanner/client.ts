/**
 * Bolt-to-bolt calls. Every call after the join is a signed request: the caller signs
 * (kind `spanner-peer-request`) the spanner id, its own pubkey, the callee's pubkey, the
 * method, the path, the time and the SHA-256 of the body's canonical JSON, and sends them in
 * `X-Vigo-Bolt`, `X-Vigo-Bolt-At` and `X-Vigo-Bolt-Sig`. The callee accepts it only from a
 * key live in its roster (the key pinned at that bolt's admission), addressed to itself,
 * within CLOCK_SKEW_S of its clock. TLS is verified against the callee's envoy CA as its
 * roster row carries it (the CA that signed its server certificate), so neither side
 * trusts anything the roster does not name. A replay inside the skew window can only
 * repeat a gossip message, which is idempotent.
 */
import { VigoError } from '../platform/errors.js';
import { canonicalize, fromHex, sha256Hex, signingMessage, toHex, verifyRaw, type Hex, type Signer } from '../trust/index.js';
import { apiRaw, type ApiResponse } from '../wire/rest-client.js';

export const PEER_REQUEST_KIND = 'spanner-peer-request';
export const CLOCK_SKEW_S = 300;
/** a bolt-to-bolt call gives up after this long */
export const PEER_TIMEOUT_MS = 10_000;

export const GOSSIP_PATH = '/api/v1/spanner/peer/gossip';
export const ADMIT_PATH = '/api/v1/spanner/peer/admit';
export const STATS_PATH = '/api/v1/spanner/peer/stats';
/** `spanner status` waits this long for each peer's figures */
export const STATS_TIMEOUT_MS = 3_000;

interface PeerRequestBody {
  spanner_id: string;
  from: Hex;
  to: Hex;
  method: string;
  path: string;
  at: number;
  body_sha256: Hex;
}

function requestBody(spannerId: string, from: Hex, to: Hex, method: string, path: string, at: number, body: unknown): PeerRequestBody {
  return { spanner_id: spannerId, from, to, method, path, at, body_sha256: sha256Hex(canonicalize(body ?? null)) };
}

export interface Peer {
  pubkey: Hex;
  /** host:port */
  addr: string;
  /** PEM of the CA its server certificate chains to */
  ca: string;
}

/** One signed call to a peer bolt; resolves for every HTTP status, rejects on transport errors. */
export async function peerCall<T>(signer: Signer, spannerId: string, peer: Peer, method: string, path: string, body: unknown, nowS: number, timeoutMs = PEER_TIMEOUT_MS): Promise<ApiResponse<T>> {
  const from = toHex(signer.publicKey);
  const sig = toHex(await signer.sign(signingMessage(PEER_REQUEST_KIND, requestBody(spannerId, from, peer.pubkey, method, path, nowS, body))));
  return apiRaw<T>({ server: `https://${peer.addr}`, ca: peer.ca, headers: { 'x-vigo-bolt': from, 'x-vigo-bolt-at': String(nowS), 'x-vigo-bolt-sig': sig } }, method, path, body, timeoutMs);
}

export type PeerCheck = { ok: true; from: Hex } | { ok: false; message: string };

/**
 * Checks a received bolt request's signature headers. `isLive(key)` says whether the key
 * is a live bolt of this roster; `self` is this bolt's pubkey.
 */
export function checkPeerRequest(
  headers: Record<string, string | string[] | undefined>,
  r: { spannerId: string; self: Hex; method: string; path: string; body: unknown; nowS: number; isLive: (key: Hex) => boolean },
): PeerCheck {
  const h = (n: string): string | undefined => (typeof headers[n] === 'string' ? (headers[n] as string) : undefined);
  const from = h('x-vigo-bolt');
  const atText = h('x-vigo-bolt-at');
  const sig = h('x-vigo-bolt-sig');
  if (!from || !/^[0-9a-f]{64}$/.test(from) || !atText || !/^\d{1,12}$/.test(atText) || !sig || !/^[0-9a-f]{128}$/.test(sig)) {
    return { ok: false, message: 'bolt request: X-Vigo-Bolt, X-Vigo-Bolt-At and X-Vigo-Bolt-Sig are required (hex key, unix seconds, hex signature)' };
  }
  const at = Number(atText);
  if (Math.abs(at - r.nowS) > CLOCK_SKEW_S) return { ok: false, message: `bolt request: signed at ${at}, ${at - r.nowS} s from this bolt's clock (at most ${CLOCK_SKEW_S} s apart; check NTP on both)` };
  if (!r.isLive(from)) return { ok: false, message: `bolt request: ${from.slice(0, 16)}… is not a live bolt of this roster` };
  const msg = signingMessage(PEER_REQUEST_KIND, requestBody(r.spannerId, from, r.self, r.method, r.path, at, r.body));
  if (!verifyRaw(fromHex(from), msg, fromHex(sig))) return { ok: false, message: 'bolt request: the signature does not verify (not for this bolt, path or body)' };
  return { ok: true, from };
}

/** A peer's non-2xx answer as an error carrying its message. */
export function peerError<T>(what: string, r: ApiResponse<T>): VigoError {
  const msg = typeof r.body === 'object' && r.body !== null && 'message' in r.body ? String((r.body as { message: unknown }).message) : `HTTP ${r.status}`;
  const code = typeof r.body === 'object' && r.body !== null && 'code' in r.body ? String((r.body as { code: unknown }).code) : `E_HTTP_${r.status}`;
  return new VigoError(code, `${what}: ${msg}`);
}
