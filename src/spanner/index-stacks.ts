/**
 * The stacks project's surface (docs/spanner.md "The stacks project"): founding it and
 * joining it. Separate from index-ops.ts because it loads gitback.
 */
export { stacksInit, stacksJoin, stacksBase, stacksProjectId, shortId } from './ops-stacks.js';
export type { StacksInitResult, StacksOptions } from './ops-stacks.js';
