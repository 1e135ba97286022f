/** What the spanner endpoints answer (type-only: vigocli does not load the spanner at run time). */
export type { BoltView, SpannerStatus } from '../../../spanner/index.js';
export type { DrainResult, MovedEnvoy } from '../../../spanner/index.js';
