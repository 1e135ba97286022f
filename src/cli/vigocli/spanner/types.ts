/** What the spanner endpoints answer (type-only: vigocli does not load the spanner at run time). */
export type { BoltStacks, BoltView, SpannerStatus } from '../../../spanner/index.js';
export type { DrainResult, MovedEnvoy } from '../../../spanner/index.js';
export type { BoltShow, BoltEnvoy, MergedBolt } from '../../../server/index-admin.js';

/** The bolts a merged (`--spanner`) view asked, and those that did not answer. */
export interface MergedAnswer {
  asked: string;
  bolts: { bolt_id: string; answered: boolean; latency_ms: number | null; error: string | null }[];
  missing: string[];
}
