/**
 * Strict parsing of a policy bundle: anything the engine does not understand is refused
 * with the path of the offending field (`resources[3].mode`), before anything is touched.
 */
import { VigoError } from '../../platform/errors.js';
import { COMMON_FIELDS, TYPE_FIELDS, checkKind, checkResourceValues, isResourceType, RESOURCE_TYPES } from './schema.js';
import type { PolicyBundle, Resource } from './types.js';

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

/**
 * The order resources run in: bundle order, except that a resource runs after everything
 * it requires (a stable topological sort). Assumes no cycles (parseBundle checks).
 */
export function runOrder(resources: readonly Resource[]): Resource[] {
  const byId = new Map(resources.map((r) => [r.id, r]));
  const done = new Set<string>();
  const out: Resource[] = [];
  const visit = (r: Resource): void => {
    if (done.has(r.id)) return;
    done.add(r.id);
    for (const dep of r.require ?? []) {
      const d = byId.get(dep);
      if (d !== undefined) visit(d);
    }
    out.push(r);
  };
  resources.forEach(visit);
  return out;
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
