/**
 * The server's swarm views, built from stored traits (pure: stored traits + now in, view
 * out; no sockets, no clock, no database). vigosrv publishes these and never arbitrates:
 * a divergent ref is shown, not resolved; a contested name is shown, never resolved.
 *
 *   buildNameMap      every valid name claim in every envoy's puddle traits → the fleet name map
 *   buildGitbackView  per project: the hosts holding it, their tips, divergent refs
 *   buildPuddleView   per puddle key: its name, envoys, users, health band
 *   buildPeerHints    per envoy: the other gitback-enabled envoys holding its projects
 *
 * In spanner mode each bolt builds these from its own envoys only; merging bolts' views
 * (`--spanner`) would need the bolts to exchange stored traits or views (docs/swarm.md).
 */
import { verifyNameClaim, type Hex, type NameClaim } from '../../trust/index.js';
import {
  CONTESTED,
  MAX_HINTS_PER_PROJECT,
  UNNAMED,
  makeNameMap,
  makePeerHints,
  type GitbackFleetHost,
  type GitbackFleetProject,
  type GitbackFleetView,
  type GitbackReplicaTrait,
  type NameEntry,
  type NameMap,
  type PeerHint,
  type PeerHints,
  type PuddleFleetEntry,
  type PuddleFleetView,
  type Traits,
} from '../../wire/swarm-fleet.js';

/** One envoy's traits as the server keeps them, with what it knows of the envoy itself. */
export interface StoredTraits {
  envoy_id: string;
  hostname: string;
  /** the address the envoy last checked in from (null: not known yet) */
  addr: string | null;
  /** the envoy's gitback gate (server.yaml swarm.enabled AND swarm.gitback.enabled) */
  gitback_enabled: boolean;
  /** the envoy's last check-in (ms); its traits' arrival when it has not checked in since */
  last_seen_ms: number;
  traits: Traits;
}

export interface ViewOptions {
  /** the check-in interval (s): a host that checked in within twice it is reporting */
  intervalS: number;
  /** a host not seen for this long (s) is stale; default 600 */
  staleAfterS?: number;
}

export const DEFAULT_STALE_AFTER_S = 600;

export function hostState(lastSeenMs: number, nowMs: number, o: ViewOptions): { reporting: boolean; stale: boolean } {
  const age = nowMs - lastSeenMs;
  const stale = age > (o.staleAfterS ?? DEFAULT_STALE_AFTER_S) * 1000;
  return { reporting: !stale && age <= 2 * o.intervalS * 1000, stale };
}

export interface NameMapResult {
  map: NameMap;
  /** claims whose signature did not verify (or whose key is not the user's puddle key): ignored */
  invalid: number;
  /** puddle pubkey → the name it validly claims (its newest claim) */
  claimOf: Map<Hex, string>;
}

/**
 * The fleet name map. A claim counts only when its signature verifies (verifyNameClaim) and
 * it is signed by the puddle key its user reports; the newest valid claim of a key is its
 * claim. A name validly claimed by two or more keys is contested and never resolves.
 */
export function buildNameMap(stored: readonly StoredTraits[], verify: (c: NameClaim) => boolean = verifies): NameMapResult {
  let invalid = 0;
  const newest = new Map<Hex, { name: string; issued_at: number }>();
  for (const s of stored) {
    for (const u of s.traits.puddle.users) {
      const c = u.name_claim;
      if (c === null) continue;
      if (!verify(c)) {
        invalid++;
        continue;
      }
      if (u.pubkey !== null && c.pubkey !== u.pubkey) {
        invalid++; // a valid claim by some other key, reported as this user's: not this puddle's
        continue;
      }
      const prev = newest.get(c.pubkey);
      if (prev === undefined || c.issued_at > prev.issued_at || (c.issued_at === prev.issued_at && c.name < prev.name)) newest.set(c.pubkey, { name: c.name, issued_at: c.issued_at });
    }
  }
  const byName = new Map<string, Set<Hex>>();
  for (const [pk, c] of newest) {
    let set = byName.get(c.name);
    if (set === undefined) byName.set(c.name, (set = new Set()));
    set.add(pk);
  }
  const names: Record<string, NameEntry> = {};
  for (const [name, pks] of byName) {
    const list = [...pks].sort();
    names[name] = list.length === 1 ? { status: 'ok', pubkey: list[0]! } : { status: 'contested', pubkeys: list };
  }
  const claimOf = new Map<Hex, string>();
  for (const [pk, c] of newest) claimOf.set(pk, c.name);
  return { map: makeNameMap(names), invalid, claimOf };
}

/** verifyNameClaim as a predicate (the store memoizes it: a claim's validity never changes). */
export function verifies(c: NameClaim): boolean {
  try {
    verifyNameClaim(c);
    return true;
  } catch {
    return false;
  }
}

/** The name a puddle key shows as: its uncontested name, "(contested)" or "(unnamed)". */
export function displayName(map: NameMap, claimOf: ReadonlyMap<Hex, string>, pubkey: Hex): string {
  const name = claimOf.get(pubkey);
  if (name === undefined) return UNNAMED;
  const e = map.names[name];
  return e?.status === 'ok' && e.pubkey === pubkey ? name : CONTESTED;
}

/** Refs on which the given hosts disagree: a different tip, or held by some and not others. */
export function divergentRefs(hosts: readonly { refs: Record<string, string> }[]): string[] {
  if (hosts.length < 2) return [];
  const all = new Set<string>();
  for (const h of hosts) for (const r of Object.keys(h.refs)) all.add(r);
  const out: string[] = [];
  for (const r of all) {
    const tips = new Set(hosts.map((h) => h.refs[r] ?? null));
    if (tips.size > 1) out.push(r);
  }
  return out.sort();
}

const byEnvoy = (a: { hostname: string; envoy_id: string }, b: { hostname: string; envoy_id: string }) => (a.hostname === b.hostname ? (a.envoy_id < b.envoy_id ? -1 : 1) : a.hostname < b.hostname ? -1 : 1);

export function buildGitbackView(stored: readonly StoredTraits[], names: NameMapResult, nowMs: number, o: ViewOptions): GitbackFleetView {
  const projects = new Map<Hex, { p: GitbackFleetProject; hosts: GitbackFleetHost[]; members: Set<string>; founders: Set<string> }>();
  const hostOf = (s: StoredTraits, st: { reporting: boolean; stale: boolean }, t: GitbackReplicaTrait): GitbackFleetHost => ({
    envoy_id: s.envoy_id,
    hostname: s.hostname,
    reporting: st.reporting,
    stale: st.stale,
    last_seen: new Date(s.last_seen_ms).toISOString(),
    bare_repo: t.bare_repo,
    bare_repo_bytes: t.bare_repo_bytes,
    refs: t.refs,
    revokes: t.revokes,
    leaves: t.leaves,
    tombstoned: t.tombstoned,
  });
  // replicas held for no local user, filed under the project once some envoy names it
  const replicas = new Map<Hex, GitbackFleetHost[]>();
  const sorted = [...stored].sort(byEnvoy);
  for (const s of sorted) {
    const st = hostState(s.last_seen_ms, nowMs, o);
    for (const t of s.traits.gitback.replicas ?? []) {
      const list = replicas.get(t.project_id) ?? [];
      list.push(hostOf(s, st, t));
      replicas.set(t.project_id, list);
    }
    for (const t of s.traits.gitback.projects) {
      let e = projects.get(t.project_id);
      if (e === undefined) {
        e = {
          p: { project_id: t.project_id, handle: t.handle, founder: t.founder, founder_name: null, scope: t.scope, members: [], hosts: [], divergent_refs: [], revokes: 0, leaves: 0 },
          hosts: [],
          members: new Set(),
          founders: new Set(),
        };
        projects.set(t.project_id, e);
      }
      for (const m of t.members) e.members.add(m);
      e.hosts.push(hostOf(s, st, t));
    }
  }
  const unheaded: Array<{ project_id: string; hosts: GitbackFleetHost[] }> = [];
  for (const [pid, hosts] of replicas) {
    const e = projects.get(pid);
    if (e === undefined) unheaded.push({ project_id: pid, hosts });
    else e.hosts = [...e.hosts, ...hosts].sort(byEnvoy);
  }
  const out: GitbackFleetProject[] = [];
  for (const e of projects.values()) {
    for (const h of e.hosts) {
      e.p.revokes = Math.max(e.p.revokes, h.revokes);
      e.p.leaves = Math.max(e.p.leaves, h.leaves);
    }
    const name = displayName(names.map, names.claimOf, e.p.founder);
    e.p.founder_name = name === UNNAMED || name === CONTESTED ? null : name;
    // the founder first, then the rest sorted (as project.json keeps them)
    e.p.members = [...e.members].sort((a, b) => (a === e.p.founder ? -1 : b === e.p.founder ? 1 : a < b ? -1 : 1));
    e.p.hosts = e.hosts;
    // only hosts with a repo that are not stale are compared: a stale host's tips are old news
    e.p.divergent_refs = divergentRefs(e.hosts.filter((h) => !h.stale && h.bare_repo && !h.tombstoned));
    out.push(e.p);
  }
  out.sort((a, b) => (a.handle === b.handle ? (a.project_id < b.project_id ? -1 : 1) : a.handle < b.handle ? -1 : 1));
  const view: GitbackFleetView = { v: 1, generated_at: new Date(nowMs).toISOString(), projects: out };
  if (unheaded.length > 0) view.unheaded = unheaded.sort((a, b) => (a.project_id < b.project_id ? -1 : 1));
  return view;
}

export function buildPuddleView(stored: readonly StoredTraits[], names: NameMapResult, nowMs: number, o: ViewOptions): PuddleFleetView {
  const puddles = new Map<Hex, PuddleFleetEntry>();
  for (const s of [...stored].sort(byEnvoy)) {
    const { stale } = hostState(s.last_seen_ms, nowMs, o);
    for (const u of s.traits.puddle.users) {
      if (u.pubkey === null) continue; // no puddle yet: nothing to show per key
      let e = puddles.get(u.pubkey);
      if (e === undefined) puddles.set(u.pubkey, (e = { pubkey: u.pubkey, name: UNNAMED, envoys: [], users: [], health: 'ok' }));
      e.envoys.push({ envoy_id: s.envoy_id, hostname: s.hostname, user: u.user, unlocked: u.unlocked, pair_pending: u.pair_pending, stale });
      if (!e.users.includes(u.user)) e.users.push(u.user);
    }
  }
  const out = [...puddles.values()];
  for (const e of out) {
    e.name = displayName(names.map, names.claimOf, e.pubkey);
    e.users.sort();
    e.health = puddleHealth(e.envoys);
  }
  out.sort((a, b) => (a.name === b.name ? (a.pubkey < b.pubkey ? -1 : 1) : a.name < b.name ? -1 : 1));
  return { v: 1, generated_at: new Date(nowMs).toISOString(), puddles: out };
}

/** stale: every envoy stale; degraded: some envoy stale, or a pair pending; ok otherwise. */
export function puddleHealth(envoys: readonly { stale: boolean; pair_pending: boolean }[]): 'ok' | 'degraded' | 'stale' {
  if (envoys.length > 0 && envoys.every((e) => e.stale)) return 'stale';
  if (envoys.some((e) => e.stale || e.pair_pending)) return 'degraded';
  return 'ok';
}

/**
 * The peer hints for one envoy: for each project it reports, the other envoys that report
 * it too, are gitback-enabled and have an address (at most MAX_HINTS_PER_PROJECT, most
 * recently seen first). Never the envoy itself. Tombstoned holdings are not hinted.
 */
export function buildPeerHints(stored: readonly StoredTraits[], envoyId: string, holders: HolderIndex = holderIndex(stored)): PeerHints {
  const me = holders.byId.get(envoyId);
  const projects: Record<string, PeerHint[]> = {};
  if (me === undefined || !me.gitback_enabled) return makePeerHints(projects);
  for (const p of holdings(me)) {
    if (p.tombstoned) continue;
    const list: PeerHint[] = [];
    for (const s of holders.byProject.get(p.project_id) ?? []) {
      if (s.envoy_id === envoyId) continue;
      list.push({ envoy_id: s.envoy_id, hostname: s.hostname, addr: s.addr! });
      if (list.length >= MAX_HINTS_PER_PROJECT) break;
    }
    if (list.length > 0) projects[p.project_id] = list;
  }
  return makePeerHints(projects);
}

/** What an envoy holds: its users' projects and its replicas held for no local user. */
function holdings(s: StoredTraits): Array<{ project_id: string; tombstoned: boolean }> {
  return [...s.traits.gitback.projects, ...(s.traits.gitback.replicas ?? [])];
}

/** Who may be hinted for each project: gitback-enabled holders with an address, most recently seen first. */
export interface HolderIndex {
  byId: ReadonlyMap<string, StoredTraits>;
  byProject: ReadonlyMap<Hex, StoredTraits[]>;
}

export function holderIndex(stored: readonly StoredTraits[]): HolderIndex {
  const byId = new Map(stored.map((s) => [s.envoy_id, s]));
  const byProject = new Map<Hex, StoredTraits[]>();
  const hintable = stored.filter((s) => s.gitback_enabled && s.addr !== null).sort((a, b) => b.last_seen_ms - a.last_seen_ms || (a.envoy_id < b.envoy_id ? -1 : 1));
  for (const s of hintable) {
    for (const p of holdings(s)) {
      if (p.tombstoned) continue;
      let list = byProject.get(p.project_id);
      if (list === undefined) byProject.set(p.project_id, (list = []));
      list.push(s);
    }
  }
  return { byId, byProject };
}
