/**
 * Per-user project state under ~/.vigo-gitback/<project_id>/ (dir 0700, files 0600):
 * project.json (ProjectConfig), tokens.json (this user's token chain, root first),
 * delegations.json (the founder-rekey delegations, ADR-019), and the sentinels
 * leave.pending / revoke.pending that the root reactor sweeps. Every write is atomic;
 * every read is strict and names the file. Reads for the helper daemon (root) go through
 * `ownedReader(uid)`: no symlinks, and every file and directory must belong to the uid the
 * kernel reported — so one user can never make the daemon read another user's chain.
 */
import { closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/atomic.js';
import { VigoError } from '../platform/errors.js';
import {
  checkDelegation,
  checkToken,
  parseStrictJson,
  type Delegation,
  type Role,
  type Scope,
  type TokenChain,
} from '../trust/index.js';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;
export const FILES = {
  project: 'project.json',
  tokens: 'tokens.json',
  delegations: 'delegations.json',
  leavePending: 'leave.pending',
  revokePending: 'revoke.pending',
} as const;

export interface ProjectConfig {
  version: 1;
  project_id: string;
  handle: string;
  /** the genesis founder (project_id = sha256(founder ‖ handle)) */
  founder: string;
  scope: Scope;
  /** puddle pubkeys (hex) known to hold the project; the founder first */
  members: string[];
  /** the role each member was invited with (this user's invitations); re-invite-all re-grants it */
  member_roles?: Record<string, Role>;
  /**
   * tokens this user issued (invite, re-invite-all), token id → what it granted; `revoke`
   * sets revoked_at. re-invite-all keeps each member's role and expiry from it and skips
   * revoked members; revoke warns about an id that is neither here nor in your own chain.
   */
  issued?: Record<string, IssuedToken>;
  /** this user's role, from the leaf of tokens.json */
  role: Role;
  created_at: number;
  /** hostnames fan-out reaches beyond the LAN (used by the replication layer) */
  cross_subnet_members: string[];
  /** set when the project was re-founded or orphaned at the delegation cap */
  tombstoned_at: number | null;
  /** the project id that replaced this one (re-found / reanchor) */
  successor: string | null;
}

export interface IssuedToken {
  subject: string;
  role: Role;
  issued_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

const HEX64 = /^[0-9a-f]{64}$/;
const ISSUED_KEYS = ['subject', 'role', 'issued_at', 'expires_at', 'revoked_at'];
const PROJECT_KEYS = ['version', 'project_id', 'handle', 'founder', 'scope', 'members', 'member_roles', 'issued', 'role', 'created_at', 'cross_subnet_members', 'tombstoned_at', 'successor'];

function malformed(file: string, msg: string): never {
  throw new VigoError('E_STATE_MALFORMED', `${file}: ${msg}`, { hint: 'restore the file, or leave and re-join the project' });
}

export function checkProjectConfig(v: unknown, file: string): ProjectConfig {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) malformed(file, 'expected a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!PROJECT_KEYS.includes(k)) malformed(file, `unknown field '${k}'`);
  if (o.version !== 1) malformed(file, 'field version must be 1');
  const hex = (k: string): string => {
    const x = o[k];
    if (typeof x !== 'string' || !HEX64.test(x)) malformed(file, `field ${k} must be 64 lowercase hex`);
    return x;
  };
  const strList = (k: string, re?: RegExp): string[] => {
    const x = o[k] ?? [];
    if (!Array.isArray(x) || x.some((e) => typeof e !== 'string' || (re !== undefined && !re.test(e)))) malformed(file, `field ${k} must be a list of ${re ? 'hex keys' : 'strings'}`);
    return x as string[];
  };
  const numOrNull = (k: string): number | null => {
    const x = o[k] ?? null;
    if (x !== null && (typeof x !== 'number' || !Number.isInteger(x) || x < 0)) malformed(file, `field ${k} must be a unix time or null`);
    return x as number | null;
  };
  if (typeof o.handle !== 'string' || o.handle === '') malformed(file, 'field handle must be a string');
  if (o.scope !== 'swarm-wide' && o.scope !== 'members-only') malformed(file, "field scope must be 'swarm-wide' or 'members-only'");
  if (o.role !== 'admin' && o.role !== 'member') malformed(file, "field role must be 'admin' or 'member'");
  const roles = o.member_roles ?? {};
  if (typeof roles !== 'object' || roles === null || Array.isArray(roles)) malformed(file, 'field member_roles must be an object of hex key → role');
  for (const [k, r] of Object.entries(roles as Record<string, unknown>)) {
    if (!HEX64.test(k) || (r !== 'admin' && r !== 'member')) malformed(file, `field member_roles.${k.slice(0, 16)} must map a 64-hex key to 'admin' or 'member'`);
  }
  const issued = checkIssued(o.issued ?? {}, file);
  const created = numOrNull('created_at');
  const successor = o.successor ?? null;
  if (successor !== null && (typeof successor !== 'string' || !HEX64.test(successor))) malformed(file, 'field successor must be 64 hex or null');
  return {
    version: 1,
    project_id: hex('project_id'),
    handle: o.handle,
    founder: hex('founder'),
    scope: o.scope,
    members: strList('members', HEX64),
    ...(Object.keys(roles).length > 0 ? { member_roles: roles as Record<string, Role> } : {}),
    ...(Object.keys(issued).length > 0 ? { issued } : {}),
    role: o.role,
    created_at: created ?? 0,
    cross_subnet_members: strList('cross_subnet_members'),
    tombstoned_at: numOrNull('tombstoned_at'),
    successor: successor as string | null,
  };
}

function checkIssued(v: unknown, file: string): Record<string, IssuedToken> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) malformed(file, 'field issued must be an object of token id → issued token');
  const out: Record<string, IssuedToken> = {};
  for (const [id, t] of Object.entries(v as Record<string, unknown>)) {
    const at = `field issued.${id.slice(0, 16)}`;
    if (!HEX64.test(id)) malformed(file, `${at}: the key must be a 64-hex token id`);
    if (typeof t !== 'object' || t === null || Array.isArray(t)) malformed(file, `${at} must be an object`);
    const o = t as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!ISSUED_KEYS.includes(k)) malformed(file, `${at}: unknown field '${k}'`);
    const time = (k: string, nullable: boolean): number | null => {
      const x = o[k];
      if (x === null && nullable) return null;
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) malformed(file, `${at}.${k} must be a unix time${nullable ? ' or null' : ''}`);
      return x;
    };
    if (typeof o.subject !== 'string' || !HEX64.test(o.subject)) malformed(file, `${at}.subject must be 64 hex`);
    if (o.role !== 'admin' && o.role !== 'member') malformed(file, `${at}.role must be 'admin' or 'member'`);
    out[id] = { subject: o.subject, role: o.role, issued_at: time('issued_at', false) as number, expires_at: time('expires_at', true), revoked_at: time('revoked_at', true) };
  }
  return out;
}

export function parseTokensFile(text: string, file: string): TokenChain {
  const v = parseStrictJson(text, { what: file, maxBytes: 256 * 1024 });
  if (!Array.isArray(v)) malformed(file, 'expected a JSON array of tokens (root first)');
  if (v.length === 0) malformed(file, 'holds no token');
  return v.map((t, i) => checkToken(t, `${file}[${i}]`));
}

export function parseDelegationsFile(text: string, file: string): Delegation[] {
  const v = parseStrictJson(text, { what: file, maxBytes: 256 * 1024 });
  if (!Array.isArray(v)) malformed(file, 'expected a JSON array of delegations');
  return v.map((d, i) => checkDelegation(d, `${file}[${i}]`));
}

/** How files are read: plainly (the CLI, as the user) or owner-checked (the root daemon). */
export type Reader = (path: string) => string | null;

export const plainReader: Reader = (path) => (existsSync(path) ? readFileSync(path, 'utf8') : null);

/**
 * Reads as root on behalf of `uid`: refuses symlinks and anything not owned by uid.
 * Returns null when the file does not exist.
 */
export function ownedReader(uid: number): Reader {
  return (path) => {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      if (code === 'ELOOP') throw new VigoError('E_STATE_UNSAFE', `${path} is a symlink; refusing to follow it`);
      throw new VigoError('E_STATE_UNREADABLE', `cannot read ${path}: ${code ?? String(e)}`);
    }
    try {
      const st = fstatSync(fd);
      if (!st.isFile()) throw new VigoError('E_STATE_UNSAFE', `${path} is not a regular file`);
      if (st.uid !== uid) throw new VigoError('E_STATE_UNSAFE', `${path} is owned by uid ${st.uid}, not by the caller (uid ${uid})`);
      if (st.size > 1 << 20) throw new VigoError('E_OVERSIZE', `${path} is larger than 1 MiB`);
      return readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  };
}

/** Checks that a directory on the daemon's path is a real directory owned by uid. */
export function checkOwnedDir(path: string, uid: number): boolean {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return false;
  }
  if (st.isSymbolicLink() || !st.isDirectory()) throw new VigoError('E_STATE_UNSAFE', `${path} is not a directory (symlinks are refused)`);
  if (st.uid !== uid) throw new VigoError('E_STATE_UNSAFE', `${path} is owned by uid ${st.uid}, not by the caller (uid ${uid})`);
  return true;
}

export interface ProjectState {
  dir: string;
  config: ProjectConfig;
  chain: TokenChain;
  delegations: Delegation[];
}

export function projectDir(base: string, pid: string): string {
  return join(base, pid);
}

export function hasProject(base: string, pid: string, read: Reader = plainReader): boolean {
  return read(join(base, pid, FILES.project)) !== null;
}

export function loadProject(base: string, pid: string, read: Reader = plainReader): ProjectState | null {
  const dir = join(base, pid);
  const pj = join(dir, FILES.project);
  const text = read(pj);
  if (text === null) return null;
  let v: unknown;
  try {
    v = parseStrictJson(text, { what: pj, maxBytes: 256 * 1024 });
  } catch (e) {
    // the parser's message already starts with the file name: name it once
    const msg = e instanceof Error ? e.message : String(e);
    malformed(pj, msg.startsWith(`${pj}: `) ? msg.slice(pj.length + 2) : msg);
  }
  const config = checkProjectConfig(v, pj);
  if (config.project_id !== pid) malformed(pj, `names project ${config.project_id}, but lives in the directory of ${pid}`);
  const tf = join(dir, FILES.tokens);
  const tokensText = read(tf);
  if (tokensText === null) malformed(tf, 'is missing');
  const chain = parseTokensFile(tokensText, tf);
  const df = join(dir, FILES.delegations);
  const dText = read(df);
  const delegations = dText === null ? [] : parseDelegationsFile(dText, df);
  return { dir, config, chain, delegations };
}

function writeState(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', { mode: FILE_MODE });
}

export function ensureBase(base: string): void {
  mkdirSync(base, { recursive: true, mode: DIR_MODE });
}

/** Writes the state (project.json last, so a crash never leaves a project without tokens). */
/** A freshly founded project's config: this key founder, only member and admin (project init, auto-adoption). */
export function founderConfig(pid: string, handle: string, founder: string, scope: Scope, now: number): ProjectConfig {
  return {
    version: 1,
    project_id: pid,
    handle,
    founder,
    scope,
    members: [founder],
    role: 'admin',
    created_at: now,
    cross_subnet_members: [],
    tombstoned_at: null,
    successor: null,
  };
}

export function saveProject(base: string, s: { config: ProjectConfig; chain: TokenChain; delegations: Delegation[] }): string {
  const dir = join(base, s.config.project_id);
  ensureBase(base);
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  writeState(join(dir, FILES.tokens), s.chain);
  const df = join(dir, FILES.delegations);
  if (s.delegations.length > 0) writeState(df, s.delegations);
  else if (existsSync(df)) writeFileAtomic(df, '[]\n', { mode: FILE_MODE });
  writeState(join(dir, FILES.project), s.config);
  return dir;
}

export function saveConfig(base: string, config: ProjectConfig): void {
  writeState(join(base, config.project_id, FILES.project), config);
}

export function writeSentinel(dir: string, file: string, value: unknown): void {
  writeState(join(dir, file), value);
}

/** Every project directory id under base (64-hex names only). */
export function listProjectIds(base: string): string[] {
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .filter((n) => HEX64.test(n))
    .sort();
}

/** A project directory whose state does not load: shown by `list`, removable by `leave`. */
export interface BrokenProject {
  project_id: string;
  dir: string;
  /** the whole error, naming the file once */
  error: string;
}

/**
 * Every project under base, good and broken: one corrupt project.json must not stop the
 * verbs from working on the other projects.
 */
export function scanAll(base: string, read: Reader = plainReader): { projects: ProjectState[]; broken: BrokenProject[] } {
  const projects: ProjectState[] = [];
  const broken: BrokenProject[] = [];
  for (const pid of listProjectIds(base)) {
    try {
      const s = loadProject(base, pid, read);
      if (s) projects.push(s);
    } catch (e) {
      broken.push({ project_id: pid, dir: join(base, pid), error: e instanceof Error ? e.message : String(e) });
    }
  }
  return { projects, broken };
}

/** The projects whose state loads (see scanAll for the broken ones). */
export function loadAll(base: string, read: Reader = plainReader): ProjectState[] {
  return scanAll(base, read).projects;
}

/** The broken project a full hex id or a hex prefix (≥ 4) names, if exactly one. */
export function matchBroken(broken: BrokenProject[], arg: string): BrokenProject | null {
  const lower = arg.toLowerCase();
  if (!/^[0-9a-f]{4,64}$/.test(lower)) return null;
  const hits = broken.filter((b) => b.project_id.startsWith(lower));
  return hits.length === 1 ? (hits[0] as BrokenProject) : null;
}

/**
 * Resolves a <project_id> argument: the full hex id, a handle, or a unique prefix of a
 * handle (or of a hex id) among projects held locally. A live project wins over a
 * tombstoned one with the same handle (after a re-found both exist).
 */
export function resolveProject(base: string, arg: string): ProjectState {
  const { projects: all, broken } = scanAll(base);
  const lower = arg.toLowerCase();
  const brokenHit = (): VigoError | null => {
    const b = matchBroken(broken, arg);
    return b === null
      ? null
      : new VigoError('E_STATE_MALFORMED', b.error, {
          hint: `restore the file, or drop this project's local state with \`vigo swarm gitback project leave ${b.project_id} --yes\``,
        });
  };
  if (HEX64.test(lower)) {
    const s = all.find((p) => p.config.project_id === lower);
    if (s) return s;
    const bad = brokenHit();
    if (bad) throw bad;
    throw new VigoError('E_NO_PROJECT', `no local state for project ${lower}`, { hint: 'see `vigo swarm gitback project list`' });
  }
  const pick = (cands: ProjectState[]): ProjectState | null => {
    if (cands.length === 1) return cands[0] as ProjectState;
    const live = cands.filter((c) => c.config.tombstoned_at === null);
    if (live.length === 1) return live[0] as ProjectState;
    if (cands.length > 1) {
      throw new VigoError('E_AMBIGUOUS', `'${arg}' matches ${cands.length} projects: ${cands.map((c) => `${c.config.handle} (${c.config.project_id.slice(0, 12)}…)`).join(', ')}`, {
        hint: 'give more of the handle, or the full project id',
      });
    }
    return null;
  };
  const found =
    pick(all.filter((p) => p.config.handle === arg)) ??
    pick(all.filter((p) => p.config.handle.startsWith(arg))) ??
    (lower.length >= 4 && /^[0-9a-f]+$/.test(lower) ? pick(all.filter((p) => p.config.project_id.startsWith(lower))) : null);
  if (found) return found;
  const bad = brokenHit();
  if (bad) throw bad;
  throw new VigoError('E_NO_PROJECT', `no local project matches '${arg}'${broken.length > 0 ? `; ${broken.length} project dir(s) could not be read, it may be one of them: ${broken.map((b) => b.error).join('; ')}` : ''}`, { hint: 'see `vigo swarm gitback project list`' });
}
