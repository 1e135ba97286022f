/**
 * The policy bundle the server resolves for one envoy (CONTRACTS §3), and the run report
 * the engine returns. Templates are already rendered when a bundle reaches the engine.
 */
export type ResourceState = 'present' | 'absent';

interface ResourceBase {
  /** `<configcrate>:<type>:<path|name|label>`, unique within a bundle */
  id: string;
  configcrate: string;
  /** the operator's label for the resource (a user's name, an exec's label), shown in run reports */
  name?: string | null;
  /** ids of resources that must not have failed before this one runs */
  require?: string[];
}

export interface FileResource extends ResourceBase {
  type: 'file';
  path: string;
  /** null/omitted: the content is not managed (an absent file is created empty) */
  content?: string | null;
  mode?: string | null;
  owner?: string | null;
  group?: string | null;
  state?: ResourceState;
  /**
   * follow a symlink in the path's parents even when a user other than root could have
   * placed it (owned by them, or in a directory they can write); the leaf is never followed
   */
  follow_symlinks?: boolean;
}

export interface DirectoryResource extends ResourceBase {
  type: 'directory';
  path: string;
  mode?: string | null;
  owner?: string | null;
  group?: string | null;
  state?: ResourceState;
  /** with state absent: remove a non-empty directory and everything in it */
  recurse?: boolean;
  /**
   * follow a symlink in the path's parents even when a user other than root could have
   * placed it (owned by them, or in a directory they can write); the leaf is never followed
   */
  follow_symlinks?: boolean;
}

export interface SymlinkResource extends ResourceBase {
  type: 'symlink';
  path: string;
  /** required when present; written verbatim as the link's content */
  target?: string | null;
  state?: ResourceState;
  /** replace a regular file or directory standing at `path` */
  force?: boolean;
  /**
   * follow a symlink in the path's parents even when a user other than root could have
   * placed it (owned by them, or in a directory they can write); the leaf is never followed
   */
  follow_symlinks?: boolean;
}

export interface ExecResource extends ResourceBase {
  type: 'exec';
  command: string;
  /** a label for the id and the report (stacks: `name:`); defaults to the command */
  name?: string | null;
  /** skip when this envoy path exists */
  creates?: string | null;
  /** skip when this command exits 0 */
  unless?: string | null;
  timeout_s?: number;
}

export interface UserResource extends ResourceBase {
  type: 'user';
  name: string;
  puddle?: boolean;
  gitback?: boolean;
  state?: ResourceState;
  /** also create/remove the Unix account (useradd -m / userdel) */
  manage?: boolean;
}

export type Resource = FileResource | DirectoryResource | SymlinkResource | ExecResource | UserResource;
export type ResourceType = Resource['type'];

export interface PolicyBundle {
  version: number;
  envoy: string;
  generated_at: number;
  resources: Resource[];
}

export type ResourceStatus = 'ok' | 'changed' | 'failed';

export interface ResourceReport {
  id: string;
  /** the resource's `name`, when it has one */
  name?: string;
  type: ResourceType;
  status: ResourceStatus;
  message: string;
}

export interface RunReport {
  policy_version: number;
  started_at: string;
  duration_ms: number;
  status: ResourceStatus;
  counts: { ok: number; changed: number; failed: number };
  configcrates: number;
  resources: ResourceReport[];
}

export interface ConvergeOptions {
  /** the envoy's filesystem root: resource paths resolve under it ('/' on a real host) */
  fsRoot: string;
  /** envoy paths no resource may touch, e.g. /etc/vigo-envoy (resolved under fsRoot) */
  protectedPaths: string[];
  /** a host path: where `user` resources write `<user>.json` */
  usercratePolicyDir: string;
  /** milliseconds since the epoch (default Date.now) */
  now?: () => number;
  dryRun?: boolean;
}

/** What `user` resources write to `<usercratePolicyDir>/<user>.json` (the gitback gate). */
export interface UsercratePolicy {
  version: 1;
  user: string;
  puddle: boolean;
  gitback: boolean;
  /** the resource id that set these flags */
  source: string;
}
