/**
 * The spanner's narrow surface for server.yaml: the `spanner:` section's schema only, so
 * loading server.yaml (vigocli does it too) does not load the roster, gossip and SQLite.
 */
export { spannerSection, defaultSpannerConfig } from './config.js';
export type { SpannerConfig } from './config.js';
