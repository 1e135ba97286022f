/**
 * The convergence engine (CONTRACTS §3): turn a policy bundle into changes on this host
 * and a run report. See docs/convergence.md.
 */
export { converge } from './converge.js';
export { parseBundle } from '../../wire/bundle.js';
export { AGENT_PROTECTED_PATHS, agentConvergeOptions } from './defaults.js';
export { readUsercratePolicy, usercratePolicyPath } from './resources/user.js';
export type { ConvergeOptions, UsercratePolicy } from './types.js';
export type { DirectoryResource, ExecResource, FileResource, PolicyBundle, Resource, ResourceReport, ResourceState, ResourceStatus, ResourceType, RunReport, SymlinkResource, UserResource } from '../../wire/bundle.js';
