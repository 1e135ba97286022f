/**
 * The fields each resource type accepts, and the checks on their values. One table
 * serves both the bundle parser (engine) and the stacks validator, so a field the stacks
 * accept is always a field the engine understands.
 */
import type { ResourceType } from './bundle.js';

export type FieldKind = 'string' | 'nullable-string' | 'bool' | 'timeout' | 'state' | 'string-list';

export interface FieldSpec {
  kind: FieldKind;
  required?: boolean;
}

export const RESOURCE_TYPES: readonly ResourceType[] = ['file', 'directory', 'symlink', 'exec', 'user'];

/** Fields every bundle resource carries; stacks resources have only `type` and `require`. */
export const COMMON_FIELDS: Readonly<Record<string, FieldSpec>> = {
  id: { kind: 'string', required: true },
  configcrate: { kind: 'string', required: true },
  type: { kind: 'string', required: true },
  require: { kind: 'string-list' },
};

const ownership: Record<string, FieldSpec> = {
  mode: { kind: 'nullable-string' },
  owner: { kind: 'nullable-string' },
  group: { kind: 'nullable-string' },
};

/** Follow symlinks in the path's parents that a user other than root could have placed. */
const follow: Record<string, FieldSpec> = { follow_symlinks: { kind: 'bool' } };

export const TYPE_FIELDS: Readonly<Record<ResourceType, Readonly<Record<string, FieldSpec>>>> = {
  // `name` (optional) labels a resource in run reports and errors; user and exec have their own
  file: { path: { kind: 'string', required: true }, name: { kind: 'nullable-string' }, content: { kind: 'nullable-string' }, ...ownership, state: { kind: 'state' }, ...follow },
  directory: { path: { kind: 'string', required: true }, name: { kind: 'nullable-string' }, ...ownership, state: { kind: 'state' }, recurse: { kind: 'bool' }, ...follow },
  symlink: { path: { kind: 'string', required: true }, name: { kind: 'nullable-string' }, target: { kind: 'nullable-string' }, state: { kind: 'state' }, force: { kind: 'bool' }, ...follow },
  exec: {
    command: { kind: 'string', required: true },
    name: { kind: 'nullable-string' },
    creates: { kind: 'nullable-string' },
    unless: { kind: 'nullable-string' },
    timeout_s: { kind: 'timeout' },
  },
  user: {
    name: { kind: 'string', required: true },
    puddle: { kind: 'bool' },
    gitback: { kind: 'bool' },
    state: { kind: 'state' },
    manage: { kind: 'bool' },
  },
};

export const MAX_TIMEOUT_S = 86_400;
export const DEFAULT_TIMEOUT_S = 300;

export function isResourceType(t: unknown): t is ResourceType {
  return typeof t === 'string' && (RESOURCE_TYPES as readonly string[]).includes(t);
}

/** Why `value` does not fit `spec`, or null when it does. */
export function checkKind(value: unknown, spec: FieldSpec): string | null {
  switch (spec.kind) {
    case 'string':
      return typeof value === 'string' ? null : 'must be a string';
    case 'nullable-string':
      return value === null || typeof value === 'string' ? null : 'must be a string or null';
    case 'bool':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'timeout':
      return typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= MAX_TIMEOUT_S
        ? null
        : `must be a number of seconds in (0, ${MAX_TIMEOUT_S}]`;
    case 'state':
      return value === 'present' || value === 'absent' ? null : 'must be "present" or "absent"';
    case 'string-list':
      return Array.isArray(value) && value.every((v) => typeof v === 'string') ? null : 'must be a list of strings';
  }
}

const MODE_RE = /^0?[0-7]{3,4}$/;
/**
 * User and group names: POSIX portable characters plus the dots and capitals that
 * directory services (LDAP, sssd) use, starting with a letter or _; or a numeric id.
 */
const USER_RE = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;
const ACCOUNT_RE = /^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|[0-9]{1,10})$/;

export function parseMode(s: string): number | null {
  return MODE_RE.test(s) ? parseInt(s, 8) : null;
}

/** An envoy path: absolute, no `..` or `.` segments, no NUL. */
export function checkEnvoyPath(p: string): string | null {
  if (p.includes('\0')) return 'must not contain a NUL byte';
  if (!p.startsWith('/')) return `must be an absolute path (got "${p}")`;
  if (p.split('/').some((seg) => seg === '..' || seg === '.')) return `must not contain "." or ".." segments (got "${p}")`;
  return null;
}

export function isValidUserName(s: string): boolean {
  return USER_RE.test(s);
}

/**
 * Checks on the values of a resource whose fields already have the right kinds.
 * Returns [field, message] pairs; the field is relative to the resource.
 */
export function checkResourceValues(type: ResourceType, r: Readonly<Record<string, unknown>>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const str = (k: string): string | null => (typeof r[k] === 'string' ? (r[k] as string) : null);
  if (type === 'file' || type === 'directory' || type === 'symlink') {
    const p = str('path');
    const why = p === null ? null : checkEnvoyPath(p);
    if (why !== null) out.push(['path', why]);
    if (p === '/') out.push(['path', 'must not be the root directory']);
  }
  if (type === 'file' || type === 'directory') {
    const m = str('mode');
    if (m !== null && parseMode(m) === null) out.push(['mode', `must be an octal mode like "0644" (got "${m}")`]);
    for (const k of ['owner', 'group']) {
      const v = str(k);
      if (v !== null && !ACCOUNT_RE.test(v)) out.push([k, `must be a user/group name or a numeric id (got "${v}")`]);
    }
  }
  if (type === 'symlink') {
    const t = str('target');
    if ((r['state'] ?? 'present') === 'present' && (t === null || t === '')) out.push(['target', 'is required when state is present']);
    if (t !== null && t.includes('\0')) out.push(['target', 'must not contain a NUL byte']);
  }
  if (type === 'exec') {
    const c = str('command');
    if (c !== null && c.trim() === '') out.push(['command', 'must not be empty']);
    const cr = str('creates');
    const why = cr === null ? null : checkEnvoyPath(cr);
    if (why !== null) out.push(['creates', why]);
  }
  if (type === 'user') {
    const n = str('name');
    if (n !== null && !isValidUserName(n)) out.push(['name', `must be a Unix user name (a letter or _, then letters, digits, _ . -; at most 32) (got "${n}")`]);
  }
  return out;
}

/** The part of a resource id after `<configcrate>:<type>:`. */
export function resourceKey(type: ResourceType, r: Readonly<Record<string, unknown>>): string {
  if (type === 'user') return String(r['name']);
  if (type === 'exec') {
    const label = r['name'];
    return typeof label === 'string' && label !== '' ? label : String(r['command']);
  }
  return String(r['path']);
}
