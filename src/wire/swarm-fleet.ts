/**
 * The swarm fleet contract (issue 14, docs/wire-formats.md §22): the shapes spoken between
 * the agent (which reports traits and writes the fleet files), vigosrv (which stores traits,
 * builds the mesh views, the fleet name map and the peer hints) and their readers
 * (`vigocli swarm …`, git-remote-gitback, fan-out/catch-up).
 *
 *   Traits      CheckIn.traits_json (canonical JSON; CheckIn.traits_sha256 = sha256 of those bytes)
 *   NameMap     /var/lib/vigo/swarm/name-map.json and GET /api/v1/swarm/puddle/names
 *   PeerHints   /var/lib/vigo/swarm/peer-hints.json (SwarmFleet.peer_hints_json)
 *   GitbackFleetView  GET /api/v1/swarm/gitback/fleet
 *   PuddleFleetView   GET /api/v1/swarm/puddle/fleet
 *
 * Every parser is strict: an unknown field, version or value is refused with an Error
 * naming the field (`traits: gitback.projects[2].refs: …`). The name map's and the hints'
 * `sha256` is sha256 of the canonical JSON (RFC 8785) of the object without `sha256`; the
 * parsers recompute it. The fleet sha the envoy reports (CheckIn.fleet_sha256) covers both.
 */
import { join } from 'node:path';
import { canonicalize, checkNameClaim, fromHex, isHex64, isValidHandle, parseStrictJson, projectId, sha256Hex, type NameClaim, type Scope } from '../trust/index.js';
import { paths, type Env } from '../platform/paths.js';

// ---- limits (the collector cuts to them and says so; the parsers refuse past them) ----
export const MAX_TRAITS_BYTES = 256 * 1024;
export const MAX_TRAIT_USERS = 64;
export const MAX_TRAIT_PROJECTS = 256;
export const MAX_TRAIT_REFS = 64;
export const MAX_TRAIT_MEMBERS = 256;
export const MAX_TRAIT_CUT_NOTES = 16;
export const MAX_FLEET_FILE_BYTES = 4 * 1024 * 1024;
export const MAX_HINTS_PER_PROJECT = 16;
export const MAX_REF_NAME = 255;

// ---- traits ----
export interface PuddleUserTrait {
  user: string;
  uid: number;
  /** the puddle's public key (hex), null when the user has no identity.pub */
  pubkey: string | null;
  initialized: boolean;
  unlocked: boolean;
  pair_pending: boolean;
  /** the signed claim as ~/.vigo-puddle/name-claim.json holds it (format-checked; signature checked by the server) */
  name_claim: NameClaim | null;
}
export interface GitbackProjectTrait {
  project_id: string;
  handle: string;
  founder: string;
  scope: Scope;
  members: string[];
  bare_repo: boolean;
  bare_repo_bytes: number;
  /** ref name → tip (40 or 64 hex) */
  refs: Record<string, string>;
  revokes: number;
  leaves: number;
  tombstoned: boolean;
}
/**
 * A bare repo this envoy holds for no local user (a relay replica): what it holds, never what
 * names the project (no project.json here to read a handle, founder or scope from). The
 * server files it under the project some other envoy names.
 */
export type GitbackReplicaTrait = Pick<GitbackProjectTrait, 'project_id' | 'bare_repo' | 'bare_repo_bytes' | 'refs' | 'revokes' | 'leaves' | 'tombstoned'>;
export interface Traits {
  v: 1;
  puddle: { users: PuddleUserTrait[] };
  /** `replicas` is absent when there are none (so traits without any keep their bytes) */
  gitback: { projects: GitbackProjectTrait[]; replicas?: GitbackReplicaTrait[] };
  /** what the collector cut to stay in bounds, one sentence each (absent: nothing cut) */
  cut?: string[];
}

// ---- fleet files ----
export type NameEntry = { status: 'ok'; pubkey: string } | { status: 'contested'; pubkeys: string[] };
export interface NameMap {
  v: 1;
  sha256: string;
  names: Record<string, NameEntry>;
}
export interface PeerHint {
  envoy_id: string;
  hostname: string;
  addr: string;
}
export interface PeerHints {
  v: 1;
  sha256: string;
  projects: Record<string, PeerHint[]>;
}

// ---- REST views ----
export interface GitbackFleetHost {
  envoy_id: string;
  hostname: string;
  /** checked in within the reporting window (2 × the check-in interval) */
  reporting: boolean;
  /** last check-in older than the stale window (default 10 minutes); a host is never both */
  stale: boolean;
  last_seen: string;
  bare_repo: boolean;
  bare_repo_bytes: number;
  refs: Record<string, string>;
  revokes: number;
  leaves: number;
  tombstoned: boolean;
}
export interface GitbackFleetProject {
  project_id: string;
  handle: string;
  founder: string;
  founder_name: string | null;
  scope: Scope;
  members: string[];
  hosts: GitbackFleetHost[];
  /** refs whose tip differs between the non-stale hosts holding the project (or that some lack) */
  divergent_refs: string[];
  /** the most any host holds */
  revokes: number;
  leaves: number;
}
export interface GitbackFleetView {
  v: 1;
  generated_at: string;
  projects: GitbackFleetProject[];
  /** replicas of projects no envoy names (no host reports a project.json for them); absent when none */
  unheaded?: Array<{ project_id: string; hosts: GitbackFleetHost[] }>;
}
export interface PuddleFleetEnvoy {
  envoy_id: string;
  hostname: string;
  user: string;
  unlocked: boolean;
  pair_pending: boolean;
  stale: boolean;
}
export type PuddleHealth = 'ok' | 'degraded' | 'stale';
export interface PuddleFleetEntry {
  pubkey: string;
  /** the uncontested claimed name, "(unnamed)" or "(contested)" */
  name: string;
  envoys: PuddleFleetEnvoy[];
  /** the distinct local user names holding the puddle, sorted */
  users: string[];
  /** stale: every envoy is stale; degraded: some envoy is stale or a pair is pending; ok otherwise */
  health: PuddleHealth;
}
export interface PuddleFleetView {
  v: 1;
  generated_at: string;
  puddles: PuddleFleetEntry[];
}

export const UNNAMED = '(unnamed)';
export const CONTESTED = '(contested)';

// ---- paths ----
export function nameMapFile(env: Env): string {
  return join(paths.varLib(env), 'swarm', 'name-map.json');
}
export function peerHintsFile(env: Env): string {
  return join(paths.varLib(env), 'swarm', 'peer-hints.json');
}

// ---- shas ----
/** The traits' sha: sha256 of the exact bytes sent as traits_json (the canonical JSON). */
export function traitsText(t: Traits): string {
  return canonicalize(t as unknown as Parameters<typeof canonicalize>[0]);
}
export function traitsSha(text: string): string {
  return sha256Hex(text);
}
function bodySha(o: Record<string, unknown>): string {
  const rest: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (k !== 'sha256') rest[k] = v;
  return sha256Hex(canonicalize(rest as Parameters<typeof canonicalize>[0]));
}
export function makeNameMap(names: Record<string, NameEntry>): NameMap {
  const sorted = sortRecord(names);
  return { v: 1, sha256: bodySha({ v: 1, names: sorted }), names: sorted };
}
export function makePeerHints(projects: Record<string, PeerHint[]>): PeerHints {
  const sorted = sortRecord(projects);
  return { v: 1, sha256: bodySha({ v: 1, projects: sorted }), projects: sorted };
}
/** CheckIn.fleet_sha256 / SwarmFleet.sha256: one sha over both files' shas. */
export function fleetSha(nameMapSha: string, peerHintsSha: string): string {
  return sha256Hex(`vigo/swarm-fleet/v1\0${nameMapSha}\n${peerHintsSha}`);
}
function sortRecord<T>(r: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(r).sort()) out[k] = r[k]!;
  return out;
}

// ---- strict checking helpers ----
type Obj = Record<string, unknown>;
function fail(path: string, msg: string): never {
  throw new Error(`${path}: ${msg}`);
}
function obj(v: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object');
  const o = v as Obj;
  for (const k of Object.keys(o)) if (!required.includes(k) && !optional.includes(k)) fail(path, `unknown field ${JSON.stringify(k)}`);
  for (const k of required) if (!(k in o)) fail(path, `missing field ${k}`);
  return o;
}
function version(v: unknown, path: string): 1 {
  if (v !== 1) fail(`${path}.v`, `version ${JSON.stringify(v)} is not understood (this build speaks 1)`);
  return 1;
}
function str(v: unknown, path: string, max = 255, min = 1): string {
  if (typeof v !== 'string' || v.length < min || v.length > max) fail(path, `must be a string of ${min}–${max} characters`);
  return v;
}
function bool(v: unknown, path: string): boolean {
  if (typeof v !== 'boolean') fail(path, 'must be true or false');
  return v;
}
function uint(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(path, 'must be a non-negative integer');
  return v;
}
function hex64(v: unknown, path: string): string {
  if (!isHex64(v)) fail(path, 'must be 64 lowercase hex digits');
  return v as string;
}
function arr(v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v)) fail(path, 'must be an array');
  if (v.length > max) fail(path, `${v.length} entries (at most ${max})`);
  return v;
}
function scope(v: unknown, path: string): Scope {
  if (v !== 'swarm-wide' && v !== 'members-only') fail(path, 'must be "swarm-wide" or "members-only"');
  return v;
}
function validName(s: string): boolean {
  return isValidHandle(s as unknown);
}
function handle(v: unknown, path: string): string {
  if (!isValidHandle(v)) fail(path, 'must be a handle (section 3 rules)');
  return v;
}
function iso(v: unknown, path: string): string {
  if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) || Number.isNaN(Date.parse(v))) fail(path, 'must be an ISO 8601 UTC time');
  return v;
}
const TIP = /^([0-9a-f]{40}|[0-9a-f]{64})$/;
const REF = /^refs\/[\x21-\x7e]+$/;
function refs(v: unknown, path: string): Record<string, string> {
  const o = obj(v, path, [], Object.keys((typeof v === 'object' && v) || {}));
  const keys = Object.keys(o);
  if (keys.length > MAX_TRAIT_REFS) fail(path, `${keys.length} refs (at most ${MAX_TRAIT_REFS})`);
  const out: Record<string, string> = {};
  for (const k of keys) {
    if (k.length > MAX_REF_NAME || !REF.test(k) || k.includes('..')) fail(path, `${JSON.stringify(k.slice(0, 80))} is not a ref name`);
    if (typeof o[k] !== 'string' || !TIP.test(o[k])) fail(`${path}[${JSON.stringify(k)}]`, 'must be a 40 or 64 hex digit object id');
    out[k] = o[k];
  }
  return out;
}
function pubkeys(v: unknown, path: string, max = MAX_TRAIT_MEMBERS): string[] {
  return arr(v, path, max).map((x, i) => hex64(x, `${path}[${i}]`));
}
function text(v: string | Uint8Array | unknown, what: string, maxBytes: number): unknown {
  if (typeof v === 'string' || v instanceof Uint8Array) return parseStrictJson(v, { what, maxBytes });
  return v;
}
const USER = /^[a-z_][a-z0-9_.-]*\$?$/i;
const ENVOY_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
function envoyId(v: unknown, path: string): string {
  if (typeof v !== 'string' || !ENVOY_ID.test(v)) fail(path, 'must be an envoy id');
  return v;
}
function addr(v: unknown, path: string): string {
  const s = str(v, path, 64);
  if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(s) && !(/^[0-9a-f:.]+$/i.test(s) && s.includes(':'))) fail(path, 'must be an IP address');
  return s;
}

// ---- parsers ----
function puddleUser(v: unknown, path: string): PuddleUserTrait {
  const o = obj(v, path, ['user', 'uid', 'pubkey', 'initialized', 'unlocked', 'pair_pending', 'name_claim']);
  const user = str(o.user, `${path}.user`, 32);
  if (!USER.test(user)) fail(`${path}.user`, 'must be a user name');
  let name_claim: NameClaim | null = null;
  if (o.name_claim !== null) {
    try {
      name_claim = checkNameClaim(o.name_claim, `${path}.name_claim`);
    } catch (e) {
      // the trust checker's message already names the field
      throw new Error(e instanceof Error ? e.message : String(e));
    }
  }
  return {
    user,
    uid: uint(o.uid, `${path}.uid`),
    pubkey: o.pubkey === null ? null : hex64(o.pubkey, `${path}.pubkey`),
    initialized: bool(o.initialized, `${path}.initialized`),
    unlocked: bool(o.unlocked, `${path}.unlocked`),
    pair_pending: bool(o.pair_pending, `${path}.pair_pending`),
    name_claim,
  };
}
const HOLDING = ['bare_repo', 'bare_repo_bytes', 'refs', 'revokes', 'leaves', 'tombstoned'] as const;
/** What one envoy holds of a project: the same fields in the trait and in the view's host. */
function holding(o: Obj, path: string): Pick<GitbackProjectTrait, (typeof HOLDING)[number]> {
  return {
    bare_repo: bool(o.bare_repo, `${path}.bare_repo`),
    bare_repo_bytes: uint(o.bare_repo_bytes, `${path}.bare_repo_bytes`),
    refs: refs(o.refs, `${path}.refs`),
    revokes: uint(o.revokes, `${path}.revokes`),
    leaves: uint(o.leaves, `${path}.leaves`),
    tombstoned: bool(o.tombstoned, `${path}.tombstoned`),
  };
}
/** What names a project: the same fields in the trait and in the view. */
function projectHead(o: Obj, path: string): Pick<GitbackProjectTrait, 'project_id' | 'handle' | 'founder' | 'scope' | 'members'> {
  const head = {
    project_id: hex64(o.project_id, `${path}.project_id`),
    handle: handle(o.handle, `${path}.handle`),
    founder: hex64(o.founder, `${path}.founder`),
    scope: scope(o.scope, `${path}.scope`),
    members: pubkeys(o.members, `${path}.members`),
  };
  // the id names its founder and handle: a head that does not derive it is someone's lie
  const want = projectId(fromHex(head.founder), head.handle);
  if (want !== head.project_id) fail(`${path}.project_id`, `is not sha256(founder ‖ handle) (that is ${want.slice(0, 12)}…): founder and handle do not name this project`);
  return head;
}
function gitbackReplica(v: unknown, path: string): GitbackReplicaTrait {
  const o = obj(v, path, ['project_id', ...HOLDING]);
  return { project_id: hex64(o.project_id, `${path}.project_id`), ...holding(o, path) };
}
function gitbackProject(v: unknown, path: string): GitbackProjectTrait {
  const o = obj(v, path, ['project_id', 'handle', 'founder', 'scope', 'members', ...HOLDING]);
  return {
    ...projectHead(o, path),
    ...holding(o, path),
  };
}

/** Parses traits (the traits_json text, or a value); throws naming the field. */
export function parseTraits(input: string | Uint8Array | unknown, what = 'traits'): Traits {
  const o = obj(text(input, what, MAX_TRAITS_BYTES), what, ['v', 'puddle', 'gitback'], ['cut']);
  version(o.v, what);
  const p = obj(o.puddle, `${what}.puddle`, ['users']);
  const g = obj(o.gitback, `${what}.gitback`, ['projects'], ['replicas']);
  const users = arr(p.users, `${what}.puddle.users`, MAX_TRAIT_USERS).map((u, i) => puddleUser(u, `${what}.puddle.users[${i}]`));
  const projects = arr(g.projects, `${what}.gitback.projects`, MAX_TRAIT_PROJECTS).map((x, i) => gitbackProject(x, `${what}.gitback.projects[${i}]`));
  const replicas = g.replicas === undefined ? undefined : arr(g.replicas, `${what}.gitback.replicas`, MAX_TRAIT_PROJECTS).map((x, i) => gitbackReplica(x, `${what}.gitback.replicas[${i}]`));
  if (replicas !== undefined && replicas.length === 0) fail(`${what}.gitback.replicas`, 'is absent when there are none, never empty');
  const seen = new Set<string>();
  for (const [list, entries] of [['projects', projects], ['replicas', replicas ?? []]] as const) {
    for (const [i, x] of entries.entries()) {
      if (seen.has(x.project_id)) fail(`${what}.gitback.${list}[${i}].project_id`, 'appears twice (a project or a replica, once)');
      seen.add(x.project_id);
    }
  }
  const t: Traits = { v: 1, puddle: { users }, gitback: replicas === undefined ? { projects } : { projects, replicas } };
  if (o.cut !== undefined) t.cut = arr(o.cut, `${what}.cut`, MAX_TRAIT_CUT_NOTES).map((c, i) => str(c, `${what}.cut[${i}]`, 200));
  return t;
}

function nameEntry(v: unknown, path: string): NameEntry {
  const st = (v as Obj | null)?.status;
  if (st === 'ok') {
    const o = obj(v, path, ['status', 'pubkey']);
    return { status: 'ok', pubkey: hex64(o.pubkey, `${path}.pubkey`) };
  }
  if (st === 'contested') {
    const o = obj(v, path, ['status', 'pubkeys']);
    const pks = pubkeys(o.pubkeys, `${path}.pubkeys`, 1024);
    if (pks.length < 2) fail(`${path}.pubkeys`, 'a contested name has at least two claimants');
    return { status: 'contested', pubkeys: pks };
  }
  obj(v, path, ['status'], ['pubkey', 'pubkeys']);
  return fail(`${path}.status`, 'must be "ok" or "contested"');
}

/** Parses the fleet name map (file or REST answer); checks its sha256. */
export function parseNameMap(input: string | Uint8Array | unknown, what = 'name map'): NameMap {
  const o = obj(text(input, what, MAX_FLEET_FILE_BYTES), what, ['v', 'sha256', 'names']);
  version(o.v, what);
  const sha = hex64(o.sha256, `${what}.sha256`);
  const n = obj(o.names, `${what}.names`, [], Object.keys((typeof o.names === 'object' && o.names) || {}));
  const names: Record<string, NameEntry> = {};
  for (const k of Object.keys(n)) {
    if (!validName(k)) fail(`${what}.names`, `${JSON.stringify(k.slice(0, 80))} is not a name`);
    names[k] = nameEntry(n[k], `${what}.names[${JSON.stringify(k)}]`);
  }
  const m = makeNameMap(names);
  if (m.sha256 !== sha) fail(`${what}.sha256`, `does not match the content (expected ${m.sha256})`);
  return m;
}

/** Parses peer hints (file or SwarmFleet.peer_hints_json); checks its sha256. */
export function parsePeerHints(input: string | Uint8Array | unknown, what = 'peer hints'): PeerHints {
  const o = obj(text(input, what, MAX_FLEET_FILE_BYTES), what, ['v', 'sha256', 'projects']);
  version(o.v, what);
  const sha = hex64(o.sha256, `${what}.sha256`);
  const ps = obj(o.projects, `${what}.projects`, [], Object.keys((typeof o.projects === 'object' && o.projects) || {}));
  const projects: Record<string, PeerHint[]> = {};
  for (const pid of Object.keys(ps)) {
    const path = `${what}.projects[${JSON.stringify(pid.slice(0, 80))}]`;
    hex64(pid, `${path} (key)`);
    projects[pid] = arr(ps[pid], path, MAX_HINTS_PER_PROJECT).map((h, i) => {
      const x = obj(h, `${path}[${i}]`, ['envoy_id', 'hostname', 'addr']);
      return { envoy_id: envoyId(x.envoy_id, `${path}[${i}].envoy_id`), hostname: str(x.hostname, `${path}[${i}].hostname`), addr: addr(x.addr, `${path}[${i}].addr`) };
    });
  }
  const h = makePeerHints(projects);
  if (h.sha256 !== sha) fail(`${what}.sha256`, `does not match the content (expected ${h.sha256})`);
  return h;
}

function fleetHost(v: unknown, path: string): GitbackFleetHost {
  const o = obj(v, path, ['envoy_id', 'hostname', 'reporting', 'stale', 'last_seen', ...HOLDING]);
  return {
    envoy_id: envoyId(o.envoy_id, `${path}.envoy_id`),
    hostname: str(o.hostname, `${path}.hostname`),
    reporting: bool(o.reporting, `${path}.reporting`),
    stale: bool(o.stale, `${path}.stale`),
    last_seen: iso(o.last_seen, `${path}.last_seen`),
    ...holding(o, path),
  };
}

/** Parses GET /api/v1/swarm/gitback/fleet. */
export function parseGitbackFleetView(input: string | Uint8Array | unknown, what = 'gitback fleet view'): GitbackFleetView {
  const o = obj(text(input, what, 64 * 1024 * 1024), what, ['v', 'generated_at', 'projects'], ['unheaded']);
  version(o.v, what);
  const view: GitbackFleetView = {
    v: 1,
    generated_at: iso(o.generated_at, `${what}.generated_at`),
    projects: arr(o.projects, `${what}.projects`, 1_000_000).map((x, i) => {
      const path = `${what}.projects[${i}]`;
      const p = obj(x, path, ['project_id', 'handle', 'founder', 'founder_name', 'scope', 'members', 'hosts', 'divergent_refs', 'revokes', 'leaves']);
      return {
        ...projectHead(p, path),
        founder_name: p.founder_name === null ? null : handle(p.founder_name, `${path}.founder_name`),
        hosts: arr(p.hosts, `${path}.hosts`, 100_000).map((h, j) => fleetHost(h, `${path}.hosts[${j}]`)),
        divergent_refs: arr(p.divergent_refs, `${path}.divergent_refs`, 100_000).map((r, j) => {
          const s = str(r, `${path}.divergent_refs[${j}]`, MAX_REF_NAME);
          if (!REF.test(s)) fail(`${path}.divergent_refs[${j}]`, 'must be a ref name');
          return s;
        }),
        revokes: uint(p.revokes, `${path}.revokes`),
        leaves: uint(p.leaves, `${path}.leaves`),
      };
    }),
  };
  if (o.unheaded !== undefined) {
    view.unheaded = arr(o.unheaded, `${what}.unheaded`, 1_000_000).map((x, i) => {
      const path = `${what}.unheaded[${i}]`;
      const u = obj(x, path, ['project_id', 'hosts']);
      return { project_id: hex64(u.project_id, `${path}.project_id`), hosts: arr(u.hosts, `${path}.hosts`, 100_000).map((h, j) => fleetHost(h, `${path}.hosts[${j}]`)) };
    });
  }
  return view;
}

/** Parses GET /api/v1/swarm/puddle/fleet. */
export function parsePuddleFleetView(input: string | Uint8Array | unknown, what = 'puddle fleet view'): PuddleFleetView {
  const o = obj(text(input, what, 64 * 1024 * 1024), what, ['v', 'generated_at', 'puddles']);
  version(o.v, what);
  return {
    v: 1,
    generated_at: iso(o.generated_at, `${what}.generated_at`),
    puddles: arr(o.puddles, `${what}.puddles`, 1_000_000).map((x, i) => {
      const path = `${what}.puddles[${i}]`;
      const p = obj(x, path, ['pubkey', 'name', 'envoys', 'users', 'health']);
      const name = str(p.name, `${path}.name`);
      if (name !== UNNAMED && name !== CONTESTED && !validName(name)) fail(`${path}.name`, `must be a name, "${UNNAMED}" or "${CONTESTED}"`);
      const health = p.health;
      if (health !== 'ok' && health !== 'degraded' && health !== 'stale') fail(`${path}.health`, 'must be "ok", "degraded" or "stale"');
      return {
        pubkey: hex64(p.pubkey, `${path}.pubkey`),
        name,
        envoys: arr(p.envoys, `${path}.envoys`, 100_000).map((e, j) => {
          const q = `${path}.envoys[${j}]`;
          const y = obj(e, q, ['envoy_id', 'hostname', 'user', 'unlocked', 'pair_pending', 'stale']);
          return {
            envoy_id: envoyId(y.envoy_id, `${q}.envoy_id`),
            hostname: str(y.hostname, `${q}.hostname`),
            user: str(y.user, `${q}.user`, 32),
            unlocked: bool(y.unlocked, `${q}.unlocked`),
            pair_pending: bool(y.pair_pending, `${q}.pair_pending`),
            stale: bool(y.stale, `${q}.stale`),
          };
        }),
        users: arr(p.users, `${path}.users`, 100_000).map((u, j) => str(u, `${path}.users[${j}]`, 32)),
        health,
      };
    }),
  };
}
