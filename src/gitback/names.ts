/**
 * Where friendly puddle names come from when a gitback://<name>/<handle> URL is resolved:
 * the envoy's cached fleet name map ($VIGO_ROOT/var/lib/vigo/swarm/name-map.json, written
 * by the swarm layer: {"names": {"<name>": "<pubkey hex>" | null}}, null = ambiguous),
 * else the caller's own claim in ~/.vigo-puddle/name-claim.json.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths, type Env } from '../platform/paths.js';
import { VigoError } from '../platform/errors.js';
import type { NameSources } from './url.js';

export function nameMapPath(env: Env): string {
  return join(paths.varLib(env), 'swarm', 'name-map.json');
}

export function readFleetNameMap(file: string): Map<string, string | null> | null {
  if (!existsSync(file)) return null;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new VigoError('E_MALFORMED', `${file}: not valid JSON`);
  }
  const names = (v as { names?: unknown } | null)?.names;
  if (typeof names !== 'object' || names === null || Array.isArray(names)) throw new VigoError('E_MALFORMED', `${file}: field 'names' must be an object`);
  const out = new Map<string, string | null>();
  for (const [k, pk] of Object.entries(names as Record<string, unknown>)) {
    if (pk !== null && (typeof pk !== 'string' || !/^[0-9a-f]{64}$/.test(pk))) throw new VigoError('E_MALFORMED', `${file}: names.${k} must be 64 hex or null`);
    out.set(k, pk);
  }
  return out;
}

/**
 * The caller's local projects with `handle` whose current founder (the last delegation's
 * new_founder, else the genesis founder) is `pubkey`. A light read (no trust core: the
 * remote helper's start-up stays small) of the caller's own files, used only to pick which
 * project a friendly URL means; the daemon still verifies the chain of whatever is picked.
 * Unreadable or malformed state is skipped.
 */
export function localProjectsFoundedBy(base: string, pubkey: string, handle: string): { projectId: string; live: boolean }[] {
  let ids: string[];
  try {
    ids = readdirSync(base).filter((n) => /^[0-9a-f]{64}$/.test(n));
  } catch {
    return [];
  }
  const out: { projectId: string; live: boolean }[] = [];
  for (const pid of ids) {
    try {
      const pj = JSON.parse(readFileSync(join(base, pid, 'project.json'), 'utf8')) as { project_id?: unknown; handle?: unknown; founder?: unknown; tombstoned_at?: unknown };
      if (pj.project_id !== pid || pj.handle !== handle) continue;
      let current = pj.founder;
      const df = join(base, pid, 'delegations.json');
      if (existsSync(df)) {
        const ds = JSON.parse(readFileSync(df, 'utf8')) as { new_founder?: unknown }[];
        const last = Array.isArray(ds) ? ds[ds.length - 1] : undefined;
        if (last !== undefined) current = last.new_founder;
      }
      if (current === pubkey) out.push({ projectId: pid, live: pj.tombstoned_at === null || pj.tombstoned_at === undefined });
    } catch {
      /* not a project we can read: it cannot be what the URL means */
    }
  }
  return out;
}

export function nameSources(env: Env, ownClaim: NameSources['ownClaim']): NameSources {
  return {
    fleetMap: () => readFleetNameMap(nameMapPath(env)),
    ownClaim,
    foundedBy: (pubkey, handle) => localProjectsFoundedBy(paths.gitbackUserDir(env), pubkey, handle),
  };
}
