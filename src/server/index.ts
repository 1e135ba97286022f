/**
 * vigosrv's surface: what the CLI (vigosrv, vigocli) and tests may use. The rest of
 * src/server is private (the lint rule subsystem-surface). Formats the envoy speaks too
 * are in src/wire/. vigocli starts from the narrower index-admin.ts. Design: docs/server.md.
 */
export { startServer } from './server.js';
export type { RunningServer } from './server.js';
export * from './index-admin.js';
export { signEnvoyCsr, createCa, createServerCert } from './pki.js';
export type { PemPair } from './pki.js';
export { globMatches, loadStacks, resolveBundle, validateStacks } from './stacks/index.js';
export { resolveGate, resolveSwarmAssignment, swarmPatternError } from './swarm-gates.js';
export type { SwarmGatesConfig } from './swarm-gates.js';
export { FleetStore } from './swarm-fleet/store.js';
export type { FleetEnvoy, FleetStoreOptions, TraitsVerdict } from './swarm-fleet/store.js';
export { buildGitbackView, buildNameMap, buildPeerHints, buildPuddleView, displayName, divergentRefs, hostState, puddleHealth, DEFAULT_STALE_AFTER_S } from './swarm-fleet/views.js';
export type { NameMapResult, StoredTraits, ViewOptions } from './swarm-fleet/views.js';
