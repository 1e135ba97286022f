/**
 * The envoy agent's surface: what `vigo agent …`, subsystems that run a service in the
 * envoy daemon (gitback) and tests may use. The rest of src/agent is private (the lint
 * rule subsystem-surface). Formats the server speaks too are in src/wire/. Design: docs/agent.md.
 */
export { startAgent } from './daemon.js';
export type { AgentContext, AgentService } from './daemon.js';
export { defaultAgentConfigPath, loadAgentConfig } from './config.js';
export type { AgentConfig } from './config.js';
export { enrollEnvoy, resolveEnrollToken } from './enroll.js';
export { identityFiles } from './checkin/identity.js';
export { CheckinService, parseCheckinSection, stateFingerprint } from './checkin/service.js';
export { CheckinStream } from './checkin/stream.js';
export { CheckinSchedule, seededRandom } from './checkin/schedule.js';
export { converge } from './engine/index.js';
export { isEnrolled, readIdentity } from './checkin/identity.js';
export type { EnvoyIdentity } from './checkin/identity.js';
export { collectTraits, TraitsCollector } from './traits/collect.js';
export type { CollectOptions, CurrentTraits, PasswdUser } from './traits/collect.js';
export { heldFleetSha, writeFleetFiles } from './traits/fleet-files.js';
