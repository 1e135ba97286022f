/**
 * Where friendly puddle names come from when a gitback://<name>/<handle> URL is resolved:
 * the envoy's cached fleet name map ($VIGO_ROOT/var/lib/vigo/swarm/name-map.json, written
 * by the swarm layer: {"names": {"<name>": "<pubkey hex>" | null}}, null = ambiguous),
 * else the caller's own claim in ~/.vigo-puddle/name-claim.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths, type Env } from '../platform/paths.js';
import { VigoError } from '../platform/errors.js';
import type { NameSources } from './url.js';

export function nameMapPath(env?: Env): string {
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

export function nameSources(env: Env, ownClaim: NameSources['ownClaim']): NameSources {
  return { fleetMap: () => readFleetNameMap(nameMapPath(env)), ownClaim };
}
