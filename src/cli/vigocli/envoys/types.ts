/** Shapes the REST API returns, as vigocli reads them. */
export type { EnvoyView } from '../../../server/index-admin.js';

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
  /** the report's size as the envoy sent it (null: stored by an older vigosrv) */
  report_bytes: number | null;
  truncated_bytes: number;
  resources_omitted: number;
  /** "truncated: N bytes / M resources omitted", or null when the stored report is whole */
  truncated: string | null;
}
