/**
 * The data behind `vigocli swarm gitback …` and `vigocli swarm puddle …` (issue 14 item 3):
 * the server's read-only mesh views, fetched and parsed with the contract's parsers
 * (src/wire/swarm-fleet.ts), and pure functions that pick and summarize from them. The
 * verbs print what these return; `--json` prints it as is.
 */
import { VigoError } from '../../../platform/errors.js';
import {
  CONTESTED,
  parseGitbackFleetView,
  parseNameMap,
  parsePuddleFleetView,
  UNNAMED,
  type GitbackFleetHost,
  type GitbackFleetProject,
  type GitbackFleetView,
  type NameMap,
  type PuddleFleetEntry,
  type PuddleFleetView,
} from '../../../wire/swarm-fleet.js';
import { call } from '../session.js';

export const GITBACK_FLEET_PATH = '/api/v1/swarm/gitback/fleet';
export const PUDDLE_FLEET_PATH = '/api/v1/swarm/puddle/fleet';
export const PUDDLE_NAMES_PATH = '/api/v1/swarm/puddle/names';

export async function fetchGitbackFleet(): Promise<GitbackFleetView> {
  return parseGitbackFleetView(await call<unknown>('GET', GITBACK_FLEET_PATH), `the server's ${GITBACK_FLEET_PATH}`);
}
export async function fetchPuddleFleet(): Promise<PuddleFleetView> {
  return parsePuddleFleetView(await call<unknown>('GET', PUDDLE_FLEET_PATH), `the server's ${PUDDLE_FLEET_PATH}`);
}
export async function fetchNameMap(): Promise<NameMap> {
  return parseNameMap(await call<unknown>('GET', PUDDLE_NAMES_PATH), `the server's ${PUDDLE_NAMES_PATH}`);
}

/** `ed25519:f43f6ef3eea2…` — the prefix operators recognise, in tables. */
export function shortKey(pubkey: string): string {
  return `ed25519:${pubkey.slice(0, 12)}…`;
}

// ---- status ----
export interface GitbackStatus {
  generated_at: string;
  projects: number;
  /** distinct envoys holding at least one project */
  hosts: number;
  /** hosts of those that are stale */
  stale_hosts: number;
  /** distinct puddles taking part: founders and members */
  participants: number;
  revokes: number;
  leaves: number;
  divergent: Array<{ project_id: string; handle: string; refs: string[] }>;
  /** replicas of projects no envoy names (held for no local user anywhere): id and the hosts */
  unheaded: Array<{ project_id: string; hosts: string[] }>;
}

export function gitbackStatus(view: GitbackFleetView): GitbackStatus {
  const hosts = new Map<string, boolean>();
  const people = new Set<string>();
  let revokes = 0;
  let leaves = 0;
  for (const p of [...view.projects, ...(view.unheaded ?? [])]) for (const h of p.hosts) hosts.set(h.envoy_id, (hosts.get(h.envoy_id) ?? false) || h.stale);
  for (const p of view.projects) {
    people.add(p.founder);
    for (const m of p.members) people.add(m);
    revokes += p.revokes;
    leaves += p.leaves;
  }
  return {
    generated_at: view.generated_at,
    projects: view.projects.length,
    hosts: hosts.size,
    stale_hosts: [...hosts.values()].filter((s) => s).length,
    participants: people.size,
    revokes,
    leaves,
    divergent: view.projects.filter((p) => p.divergent_refs.length > 0).map((p) => ({ project_id: p.project_id, handle: p.handle, refs: [...p.divergent_refs] })),
    unheaded: (view.unheaded ?? []).map((u) => ({ project_id: u.project_id, hosts: u.hosts.map((h) => h.hostname) })),
  };
}

// ---- picking a project ----
/**
 * The one project `arg` names: its full id, a unique id prefix (at least 4 hex digits), or a
 * handle held by one project. A handle (or prefix) several projects share is refused,
 * listing them, so the operator can pick by id.
 */
export function findProject(view: GitbackFleetView, arg: string): GitbackFleetProject {
  const exact = view.projects.find((p) => p.project_id === arg);
  if (exact) return exact;
  const byHandle = view.projects.filter((p) => p.handle === arg);
  const byPrefix = /^[0-9a-f]{4,63}$/.test(arg) ? view.projects.filter((p) => p.project_id.startsWith(arg)) : [];
  const hits = byHandle.length > 0 ? byHandle : byPrefix;
  if (hits.length === 1) return hits[0] as GitbackFleetProject;
  if (hits.length > 1) {
    const lines = hits.map((p) => `  ${p.project_id}  ${p.handle}  founder ${shortKey(p.founder)}${p.founder_name ? ` (${p.founder_name})` : ''}`);
    throw new VigoError('E_PROJECT_AMBIGUOUS', `'${arg}' matches ${hits.length} projects:\n${lines.join('\n')}`, { hint: 'name one by its project id (or a longer id prefix)' });
  }
  throw new VigoError('E_PROJECT_NOT_FOUND', `no envoy reports a gitback project '${arg}' (${view.projects.length} project(s) known to the server)`, {
    hint: 'run `vigocli swarm gitback list`; a project shows once an envoy holding it has checked in',
  });
}

// ---- show ----
export interface RefRow {
  ref: string;
  /** the tip most non-stale holders have (ties: the smallest id), null when no one has it */
  tip: string | null;
  divergent: boolean;
  /** envoy_id → its tip of this ref, null when it lacks it */
  hosts: Record<string, string | null>;
}
export interface ProjectDetail {
  project_id: string;
  handle: string;
  founder: string;
  founder_name: string | null;
  scope: string;
  members: string[];
  url: string;
  /** gitback://<name>/<handle> when the founder's name is uncontested, else null */
  friendly_url: string | null;
  revokes: number;
  leaves: number;
  divergent_refs: string[];
  refs: RefRow[];
  hosts: GitbackFleetHost[];
}

export function projectDetail(p: GitbackFleetProject): ProjectDetail {
  const names = new Set<string>();
  for (const h of p.hosts) for (const r of Object.keys(h.refs)) names.add(r);
  const refs: RefRow[] = [...names].sort().map((ref) => {
    const hosts: Record<string, string | null> = {};
    const counts = new Map<string, number>();
    for (const h of p.hosts) {
      const tip = h.refs[ref] ?? null;
      hosts[h.envoy_id] = tip;
      if (tip !== null && !h.stale) counts.set(tip, (counts.get(tip) ?? 0) + 1);
    }
    const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return { ref, tip: ranked[0]?.[0] ?? null, divergent: p.divergent_refs.includes(ref), hosts };
  });
  const named = p.founder_name !== null && p.founder_name !== UNNAMED && p.founder_name !== CONTESTED;
  return {
    project_id: p.project_id,
    handle: p.handle,
    founder: p.founder,
    founder_name: p.founder_name,
    scope: p.scope,
    members: [...p.members],
    url: `gitback://${p.project_id}/${p.handle}`,
    friendly_url: named ? `gitback://${p.founder_name as string}/${p.handle}` : null,
    revokes: p.revokes,
    leaves: p.leaves,
    divergent_refs: [...p.divergent_refs],
    refs,
    hosts: p.hosts,
  };
}

/** A host's state in one word: stale, silent (not reporting, not yet stale), or reporting. */
export function hostState(h: GitbackFleetHost): string {
  if (h.tombstoned) return 'tombstoned';
  if (h.stale) return 'stale';
  return h.reporting ? 'reporting' : 'silent';
}

// ---- members ----
export interface MemberRow {
  project_id: string;
  handle: string;
  pubkey: string;
  /** the uncontested fleet name of the puddle, else null */
  name: string | null;
  founder: boolean;
}

/** Every project's members (the founder first), or one project's; names from the fleet name map. */
export function memberRows(view: GitbackFleetView, names: NameMap, project?: string): MemberRow[] {
  const byKey = new Map<string, string>();
  for (const [n, e] of Object.entries(names.names)) if (e.status === 'ok') byKey.set(e.pubkey, n);
  const projects = project === undefined ? view.projects : [findProject(view, project)];
  const rows: MemberRow[] = [];
  for (const p of projects) {
    const keys = [p.founder, ...p.members.filter((m) => m !== p.founder)];
    for (const k of keys) rows.push({ project_id: p.project_id, handle: p.handle, pubkey: k, name: byKey.get(k) ?? null, founder: k === p.founder });
  }
  return rows;
}

// ---- puddles ----
/** The one puddle `arg` names: its uncontested name, its full pubkey, or a unique pubkey prefix (8+ hex, `ed25519:` allowed). */
export function findPuddle(view: PuddleFleetView, arg: string): PuddleFleetEntry {
  const key = arg.replace(/^ed25519:/, '');
  const exact = view.puddles.find((p) => p.pubkey === key || (p.name === arg && p.name !== UNNAMED && p.name !== CONTESTED));
  if (exact) return exact;
  const byPrefix = /^[0-9a-f]{8,63}$/.test(key) ? view.puddles.filter((p) => p.pubkey.startsWith(key)) : [];
  if (byPrefix.length === 1) return byPrefix[0] as PuddleFleetEntry;
  if (byPrefix.length > 1) throw new VigoError('E_PUDDLE_AMBIGUOUS', `'${arg}' is a prefix of ${byPrefix.length} puddles: ${byPrefix.map((p) => shortKey(p.pubkey)).join(', ')}`, { hint: 'give more of the pubkey' });
  throw new VigoError('E_PUDDLE_NOT_FOUND', `no envoy reports a puddle named or keyed '${arg}' (a contested name names no puddle)`, { hint: 'run `vigocli swarm puddle list`' });
}
