/**
 * gitback:// URLs. Two forms: gitback://<project_id>/<handle> (the proof: the id is
 * sha256(founder pubkey ‖ handle)) and gitback://<name>/<handle> (a convenience: the name
 * resolves to a puddle pubkey through the fleet name map, else the caller's own name claim).
 * Pure: resolution sources are passed in.
 */
import { createHash } from 'node:crypto';
import { VigoError } from '../platform/errors.js';
import type { NameEntry } from '../wire/swarm-fleet.js';

const HEX64 = /^[0-9a-f]{64}$/;
const HANDLE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

export interface ParsedGitbackUrl {
  /** what stood before the handle: a 64-hex project id or a friendly name */
  host: string;
  handle: string;
  /** set when host is a 64-hex project id */
  projectId: string | null;
}

export function isHexId(s: string): boolean {
  return HEX64.test(s);
}

export function parseGitbackUrl(url: string): ParsedGitbackUrl {
  const m = /^gitback:\/\/([^/]+)\/([^/]+?)\/?$/.exec(url);
  if (!m) {
    throw new VigoError('E_BAD_URL', `not a gitback URL: '${url}'`, {
      hint: 'use gitback://<project_id>/<handle> or gitback://<name>/<handle>',
    });
  }
  const host = m[1] as string;
  let handle = m[2] as string;
  if (handle.endsWith('.git')) handle = handle.slice(0, -4);
  if (!HANDLE.test(handle) || HEX64.test(handle)) {
    throw new VigoError('E_BAD_URL', `${url}: '${handle}' is not a valid project handle`, {
      hint: 'a handle is 1-64 of [A-Za-z0-9._-] with no leading dot',
    });
  }
  const lower = host.toLowerCase();
  if (HEX64.test(lower)) return { host: lower, handle, projectId: lower };
  if (!HANDLE.test(host)) throw new VigoError('E_BAD_URL', `${url}: '${host}' is neither a 64-hex project id nor a puddle name`);
  return { host, handle, projectId: null };
}

/** sha256(raw 32-byte pubkey ‖ UTF-8 handle), lowercase hex. */
export function computeProjectId(pubkey: Uint8Array, handle: string): string {
  return createHash('sha256').update(pubkey).update(Buffer.from(handle, 'utf8')).digest('hex');
}

/** The envoy's fleet name map as the resolver needs it (src/wire/swarm-fleet.ts NameMap, plus when it was written). */
export interface FleetNames {
  names: Record<string, NameEntry>;
  /** when the agent wrote the file (its mtime), ISO 8601 */
  writtenAt: string;
}

export interface NameSources {
  /** the envoy's fleet name map, or null when the envoy has none yet (a fresh envoy) */
  fleetMap(): Promise<FleetNames | null>;
  /** the caller's own verified claim (loaded lazily: the puddle is only needed on a map miss) */
  ownClaim(): Promise<{ name: string; pubkey: string } | null>;
  /** the caller's local projects with this handle whose current founder (through their delegations) is pubkey */
  foundedBy?(pubkey: string, handle: string): { projectId: string; live: boolean }[];
}

/**
 * The project a name's key addresses. sha256(key ‖ handle) names a project that key
 * founded; after a founder rekey the name's key is the new one, but the project keeps its
 * genesis id. So: the direct id when the caller holds it live, else the one live local
 * project whose current founder is the key (a clone made before the rekey keeps fetching),
 * else the direct id.
 */
function projectForKey(pubkey: string, handle: string, names: NameSources): string {
  const direct = computeProjectId(Buffer.from(pubkey, 'hex'), handle);
  const local = (names.foundedBy?.(pubkey, handle) ?? []).filter((p) => p.live);
  if (local.some((p) => p.projectId === direct)) return direct;
  return local.length === 1 ? (local[0] as { projectId: string }).projectId : direct;
}

/** The project id a URL addresses, resolving a friendly name if needed. */
export async function resolveProjectId(u: ParsedGitbackUrl, names: NameSources): Promise<string> {
  if (u.projectId) return u.projectId;
  const map = await names.fleetMap();
  const entry = map !== null && Object.hasOwn(map.names, u.host) ? map.names[u.host] : undefined;
  // a contested name never resolves, not even for one of its claimants: first claim wins is the server's word, not ours
  if (entry?.status === 'contested') {
    const who = entry.pubkeys.map((k) => `ed25519:${k.slice(0, 12)}…`).join(', ');
    throw new VigoError('E_NAME_AMBIGUOUS', `the puddle name '${u.host}' is contested (claimed by ${who}) and does not resolve`, {
      hint: `use the hex form gitback://<project_id>/${u.handle}; \`vigocli swarm puddle list\` shows the claimants`,
    });
  }
  if (entry?.status === 'ok') return projectForKey(entry.pubkey, u.handle, names);
  // a miss (or no map yet): the caller's own claim, so a name just set resolves on its own envoy
  const own = await names.ownClaim();
  if (own && own.name === u.host) return projectForKey(own.pubkey, u.handle, names);
  const why = map === null ? 'this envoy has no fleet name map yet' : `the fleet name map (written ${map.writtenAt}) does not know it`;
  throw new VigoError('E_NAME_UNKNOWN', `cannot resolve the puddle name '${u.host}': ${why}, and it is not your own name claim`, {
    hint: `a name claimed just now reaches this envoy after both envoys check in; or use the hex form gitback://<project_id>/${u.handle} (vigo swarm gitback project status ${u.handle} prints it)`,
  });
}

export function canonicalUrl(projectId: string, handle: string): string {
  return `gitback://${projectId}/${handle}`;
}
