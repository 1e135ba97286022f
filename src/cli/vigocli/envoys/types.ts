/** Shapes the REST API returns, as vigocli reads them. */
export type { EnvoyView } from '../../../server/envoys.js';

/** A row of GET /api/v1/runs (hostname and envoy_id only there) and of an envoy's recent runs. */
export interface RunRow {
  run_id: string;
  envoy_id?: string;
  hostname?: string;
  policy_version: number;
  started_at: string;
  duration_ms: number;
  status: string;
  ok: number;
  changed: number;
  failed: number;
  configcrates: number;
}
