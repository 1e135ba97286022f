/**
 * The convergence engine (CONTRACTS §3): turn a policy bundle into changes on this host
 * and a run report. See docs/convergence.md.
 */
export { converge } from './converge.js';
export { parseBundle } from './bundle.js';
export { AGENT_PROTECTED_PATHS, agentConvergeOptions } from './defaults.js';
export { readUsercratePolicy, usercratePolicyPath } from './resources/user.js';
export type {
  ConvergeOptions,
  DirectoryResource,
  ExecResource,
  FileResource,
  PolicyBundle,
  Resource,
  ResourceReport,
  ResourceState,
  ResourceStatus,
  ResourceType,
  RunReport,
  SymlinkResource,
  UserResource,
  UsercratePolicy,
} from './types.js';
