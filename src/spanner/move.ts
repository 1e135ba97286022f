/**
 * The bolt-to-bolt calls that move envoys between bolts, as both ends speak them. Each is
 * a signed peer call (client.ts): the callee accepts it only from a live roster key, and
 * only while it is live itself.
 *
 *   POST PEER_ENROLL_PATH   an enrollment the receiving bolt routed here by pattern:
 *                           {envoy_id, hostname, csr, via}. The token was checked and
 *                           consumed where it was minted (the receiving bolt); this bolt
 *                           signs the CSR with its CA, records the envoy and answers
 *                           EnrollAnswer.
 *   POST PEER_ACCEPT_PATH   one envoy handed over by its owner (reassign, drain):
 *                           EnvoyHandover. Idempotent by envoy id and run id (a resumed
 *                           move sends it again). This bolt records the envoy and its runs,
 *                           signs a certificate for the envoy's key with its CA and answers
 *                           AcceptAnswer.
 *   POST PEER_DRAIN_PATH    the hub asking a bolt to drain itself (`bolt remove`): {}.
 *                           Answers DrainResult.
 *   POST PEER_REVOKED_PATH  the hub handing a removed bolt its revocation row: {rows}.
 *                           Gossip goes to live bolts only, so the removed bolt learns it here.
 */
export const PEER_ENROLL_PATH = '/api/v1/spanner/peer/enroll';
export const PEER_ACCEPT_PATH = '/api/v1/spanner/peer/envoy-accept';
export const PEER_DRAIN_PATH = '/api/v1/spanner/peer/drain';
export const PEER_REVOKED_PATH = '/api/v1/spanner/peer/revoked';

/** The body cap of PEER_ACCEPT_PATH: the envoy and its newest runs up to MOVE_RUNS_MAX_BYTES. */
export const MOVE_RUNS_MAX_BYTES = 16 * 1024 * 1024;
export const PEER_ACCEPT_BODY_LIMIT = MOVE_RUNS_MAX_BYTES + 1024 * 1024;

export interface EnrollAnswer {
  envoy_id: string;
  hostname: string;
  cert: string;
  /** the owning bolt's CA */
  ca: string;
  /** every live bolt's CA: what the envoy stores as its ca.crt */
  ca_bundle: string;
  grpc_addr: string;
  interval_s: number;
  /** the owning bolt, and its REST URL */
  bolt_id?: string;
  server?: string;
}

/** An envoys row and its runs rows, as they travel (column names of server/db.ts). */
export interface EnvoyHandover {
  from_bolt: string;
  envoy: {
    id: string;
    hostname: string;
    pubkey_sha256: string;
    /** the envoy's key (SPKI PEM) the new bolt signs a certificate for */
    pubkey_pem: string;
    enrolled_at: number;
    last_seen: number | null;
    ip: string | null;
    policy_version: number | null;
    fingerprint: string | null;
    last_run_status: string | null;
    last_run_at: number | null;
    change_streak: number;
  };
  runs: Record<string, unknown>[];
}

export interface AcceptAnswer {
  bolt_id: string;
  grpc_addr: string;
  server: string;
  cert: string;
  ca_bundle: string;
  runs_stored: number;
}

export interface MovedEnvoy {
  envoy_id: string;
  hostname: string;
  to: string;
  runs: number;
}

export interface DrainResult {
  bolt_id: string;
  moved: MovedEnvoy[];
  /** envoys whose move did not finish (the target did not answer): retried in the background */
  pending: { envoy_id: string; hostname: string; to: string; error: string }[];
}
