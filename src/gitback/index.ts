/**
 * gitback's surface: what the CLI verbs, the envoy daemon and other subsystems may use.
 * The rest of src/gitback is private (the lint rule subsystem-surface); git-remote-gitback
 * starts from the narrower index-remote.ts. Design: docs/gitback.md.
 */
export { runRemoteHelper, nameSources } from './index-remote.js';
export type { RemoteHelperIo } from './index-remote.js';
export { bindFromSession } from './bind-client.js';
export type { GitbackContext } from './context.js';
export { ownNameClaim, puddleSigner, readPuddlePublicKey } from './identity.js';
export { registerGitbackHooks } from './register.js';
export { gitbackService } from './daemon/service.js';
export { gitbackGcOrphans, gitbackPurge, gitbackStatus } from './project/envoy.js';
export { projectInit, projectReanchor, projectRefound } from './project/found.js';
export type { InitOptions } from './project/found.js';
export { projectInvite, projectJoin, projectLeave, projectReinviteAll, projectRejoin, projectRevoke } from './project/membership.js';
export type { InviteOptions } from './project/membership.js';
export { projectList, projectStatus } from './project/show.js';
export { projectPush } from './project/publish.js';
export { uidSocketDir, uidSocketPath } from './daemon/uid-socket.js';
export { GitRefStore } from './stores/disk.js';
export { MemoryRefStore } from './stores/memory.js';
export type { CasResult, RefMap, RefStore } from './stores/stores.js';
export { gitEnv } from './daemon/git.js';
export type { GitHost } from './daemon/git.js';
export { LocalGitbackView, MAX_LOCAL_PROJECTS } from './swarm-view.js';
export { readPasswd, type PasswdEntry } from './passwd.js';
export { supersededKey, type Superseded } from './superseded.js';
export type { LocalProject, LocalTrustView } from './swarm-view.js';
export { parseGitbackConfig } from './daemon/service.js';
export { checkGitbackGates } from './gate.js';
export type { GitbackReplicator, ReplicaCount } from './replicator.js';
export { GitbackService } from './daemon/service.js';
export { EnvelopeCache, gossipEnvelopeStore, revokesDir, storeLeave, storeRevoke } from './envelopes.js';
export { knownPuddleKeys } from './binding.js';
export { nameMapPath, readFleetNameMap } from './names.js';
export { decideLastCopy, formatPuddleLeave, puddleLeave } from './puddle-leave.js';
export type { LastCopyDecision, LocalProjectView, PuddleLeaveResult } from './puddle-leave.js';
export { planAdoption } from './adopt.js';
export type { AdoptionPlan, AdoptCandidate } from './adopt.js';
// the stacks project (src/spanner/ops-stacks.ts, src/server/publish/stacks-watcher.ts): root-owned project state under the ops-puddle dir
export { checkProjectConfig, hasProject, saveProject } from './state.js';
export type { ProjectConfig } from './state.js';
export { ensureBareRepo, git } from './daemon/git.js';
export { replicateFilePush, type ReplicateOutcome } from './replicate-root.js';
/** one request on the helper daemon's socket, and its line encoding (the replicate attacks speak it raw) */
export { daemonRequest } from './remote-helper.js';
export { encodeLine } from './daemon/protocol.js';
