/**
 * The policy bundle (CONTRACTS §3) the server resolves for one envoy and sends it in a
 * check-in, and the run report the engine sends back. Templates are already rendered when a
 * bundle reaches the engine. Parsing is strict: anything the engine does not understand is
 * refused with the path of the offending field (`resources[3].mode`), before anything is touched.
 */
import { VigoError } from '../platform/errors.js';
import { COMMON_FIELDS, TYPE_FIELDS, checkKind, checkResourceValues, isResourceType, RESOURCE_TYPES } from './bundle-schema.js';

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

const TOP_FIELDS = ['version', 'envoy', 'generated_at', 'resources'] as const;

function bad(field: string, why: string): never {
  throw new VigoError('E_BAD_BUNDLE', `policy bundle: ${field}: ${why}`, {
    hint: 'the server sent a bundle this agent does not understand; check the stacks and the versions of vigosrv and vigo',
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function parseBundle(json: unknown): PolicyBundle {
  if (!isPlainObject(json)) bad('(top level)', 'must be an object');
  for (const k of Object.keys(json)) if (!(TOP_FIELDS as readonly string[]).includes(k)) bad(k, 'unknown field');
  if (!isNonNegInt(json['version'])) bad('version', 'must be a non-negative integer');
  if (typeof json['envoy'] !== 'string' || json['envoy'] === '') bad('envoy', 'must be a non-empty string');
  if (!isNonNegInt(json['generated_at'])) bad('generated_at', 'must be a non-negative integer (unix seconds)');
  const list = json['resources'];
  if (!Array.isArray(list)) bad('resources', 'must be a list');

  const ids = new Map<string, number>();
  /** one resource per path and per user name: two would undo each other on every run */
  const managed = new Map<string, number>();
  const resources: Resource[] = [];
  list.forEach((raw: unknown, i) => {
    const at = `resources[${i}]`;
    if (!isPlainObject(raw)) bad(at, 'must be an object');
    const type = raw['type'];
    if (!isResourceType(type)) bad(`${at}.type`, `unknown resource type ${JSON.stringify(type)} (known: ${RESOURCE_TYPES.join(', ')})`);
    const fields = { ...COMMON_FIELDS, ...TYPE_FIELDS[type] };
    for (const k of Object.keys(raw)) if (!Object.hasOwn(fields, k)) bad(`${at}.${k}`, `unknown field for a ${type} resource`);
    for (const [k, spec] of Object.entries(fields)) {
      if (!Object.hasOwn(raw, k) || raw[k] === undefined) {
        if (spec.required === true) bad(`${at}.${k}`, 'is required');
        continue;
      }
      const why = checkKind(raw[k], spec);
      if (why !== null) bad(`${at}.${k}`, why);
    }
    if (raw['id'] === '') bad(`${at}.id`, 'must not be empty');
    const first = checkResourceValues(type, raw)[0];
    if (first !== undefined) bad(`${at}.${first[0]}`, first[1]);
    const id = raw['id'] as string;
    const prev = ids.get(id);
    if (prev !== undefined) bad(`${at}.id`, `duplicate id "${id}" (also resources[${prev}])`);
    ids.set(id, i);
    const field = type === 'user' ? 'name' : type === 'exec' ? null : 'path';
    if (field !== null) {
      const key = `${field}\0${String(raw[field])}`;
      const other = managed.get(key);
      if (other !== undefined) bad(`${at}.${field}`, `${String(raw[field])} is also managed by resources[${other}]`);
      managed.set(key, i);
    }
    resources.push({ ...raw } as unknown as Resource);
  });

  resources.forEach((r, i) => {
    (r.require ?? []).forEach((dep, j) => {
      if (!ids.has(dep)) bad(`resources[${i}].require[${j}]`, `no resource has id "${dep}"`);
      if (dep === r.id) bad(`resources[${i}].require[${j}]`, 'a resource cannot require itself');
    });
  });
  const cycle = findCycle(resources);
  if (cycle !== null) bad(`resources[${cycle}].require`, 'require forms a cycle');

  return { version: json['version'], envoy: json['envoy'], generated_at: json['generated_at'], resources };
}

/** Index of a resource on a require cycle, or null. */
function findCycle(resources: readonly Resource[]): number | null {
  const index = new Map(resources.map((r, i) => [r.id, i]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string): number | null => {
    const s = state.get(id);
    if (s === 'done') return null;
    if (s === 'visiting') return index.get(id) ?? null;
    state.set(id, 'visiting');
    const r = resources[index.get(id) ?? -1];
    for (const dep of r?.require ?? []) {
      const c = visit(dep);
      if (c !== null) return c;
    }
    state.set(id, 'done');
    return null;
  };
  for (const r of resources) {
    const c = visit(r.id);
    if (c !== null) return c;
  }
  return null;
}
