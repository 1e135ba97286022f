/** What the spanner endpoints answer (src/spanner/service.ts BoltView, SpannerStatus). */
export interface BoltView {
  bolt_id: string;
  pubkey: string;
  hostname: string;
  peer_addr: string;
  patterns: string[];
  admitted_at: string;
  admitted_by: string;
  status: 'live' | 'revoked' | 'not-yet';
  self: boolean;
}

export interface SpannerStatus {
  mode: 'standalone' | 'hub' | 'spoke';
  spanner_id?: string;
  bolt_id?: string;
  pubkey?: string;
  member?: boolean;
  roster?: { rows: number; digest: string; live: number; revoked: number };
  bolts?: (BoltView & { last_heard_s: number | null; envoys: number | null; compliance_pct: number | null; latency_ms: number | null; health: 'ok' | 'unreachable' | 'revoked'; error: string | null })[];
}
