/**
 * Where friendly puddle names come from when a gitback://<name>/<handle> URL is resolved:
 * the envoy's fleet name map ($VIGO_ROOT/var/lib/vigo/swarm/name-map.json, written by the
 * agent from check-in; src/wire/swarm-fleet.ts NameMap, docs/wire-formats.md §22), else the
 * caller's own claim in ~/.vigo-puddle/name-claim.json.
 *
 * The map decides which project a friendly URL means, so only root may have written it: a
 * file not owned by root, group- or world-writable, or not a regular file is refused (the
 * hex URL still works). The contract's parser is loaded only when a friendly URL is used.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths, type Env } from '../platform/paths.js';
import { VigoError } from '../platform/errors.js';
import { readRootOwnedFile } from '../platform/root-file.js';
import type { FleetNames, NameSources } from './url.js';

export function nameMapPath(env: Env): string {
  return join(paths.varLib(env), 'swarm', 'name-map.json');
}

/** The most a name map file may be (the contract's MAX_FLEET_FILE_BYTES; kept here so the check runs before the parser loads). */
const MAX_NAME_MAP_BYTES = 4 * 1024 * 1024;

/** Reads the root-written name map; null when there is none; throws naming the file when it is unsafe or malformed. */
export async function readFleetNameMap(file: string, rootUid = 0): Promise<FleetNames | null> {
  const f = readRootOwnedFile(file, { what: 'the fleet name map', maxBytes: MAX_NAME_MAP_BYTES, rootUid });
  if (f === null) return null;
  const { parseNameMap } = await import('../wire/swarm-fleet.js');
  try {
    return { names: parseNameMap(f.bytes, file).names, writtenAt: f.mtime.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  } catch (e) {
    throw new VigoError('E_MALFORMED', e instanceof Error ? e.message : String(e), { hint: 'remove it; the agent writes it again at its next check-in' });
  }
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
