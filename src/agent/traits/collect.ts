/**
 * The swarm traits of this envoy (issue 14; docs/swarm.md "Traits"), collected by the agent
 * as root from files only, never sockets (the page: root-run collectors read files):
 *
 *   puddle  per local user with a ~/.vigo-puddle: its key (identity.pub), initialized
 *           (identity.pub and identity.wrapped), unlocked (session.unlocked naming a live
 *           helper pid), pair_pending (pair.pending exists), its signed name claim
 *   gitback per project held here (a bare repo under /var/lib/vigo/swarm/gitback/projects,
 *           or a local user's ~/.vigo-gitback/<pid>): handle, founder, scope and members from
 *           the users' project.json, refs read from the bare repo (packed-refs and loose
 *           refs), its size, the revoke and leave envelopes held, the tombstone
 *
 * A user controls their home: it is walked with the fd-based calls (platform/fsat.ts) the
 * reactor uses, every directory and file must be the user's own, no symlink is followed
 * (but root's own in root-owned directories, as the reactor allows), and every file read
 * is capped. Everything is bounded (users, projects, refs, bytes walked); what was cut is
 * said in the traits' `cut`.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { paths, type Env } from '../../platform/paths.js';
import { closeFd, fstatFd, O, openat, openDirAt, openDirNoFollow, readdirFd, withFd } from '../../platform/fsat.js';
import { processAlive } from '../../puddle/index.js';
import { checkNameClaim, fromHex, isHex64, isValidHandle, parseStrictJson, projectId, type NameClaim, type Scope } from '../../trust/index.js';
import {
  MAX_TRAIT_MEMBERS,
  MAX_TRAIT_PROJECTS,
  MAX_TRAIT_REFS,
  MAX_TRAIT_USERS,
  MAX_TRAITS_BYTES,
  traitsSha,
  traitsText,
  type GitbackProjectTrait,
  type GitbackReplicaTrait,
  type PuddleUserTrait,
  type Traits,
} from '../../wire/swarm-fleet.js';

export interface PasswdUser {
  name: string;
  uid: number;
  home: string;
}

export interface CollectOptions {
  env: Env;
  /** the users to look at (the passwd file's entries) */
  users: () => PasswdUser[];
  log: (msg: string) => void;
  /** the largest file read from a home (default 64 KiB) */
  maxFileBytes?: number;
  /** the most directory entries walked to size one bare repo (default 20000) */
  maxRepoEntries?: number;
  /** is this pid a running process (default: kill(pid, 0)) */
  alive?: (pid: number) => boolean;
}

const PUDDLE_DIR = '.vigo-puddle';
const GITBACK_DIR = '.vigo-gitback';
const PID_DIR = /^[0-9a-f]{64}$/;
const ENVELOPE_FILE = /^([0-9a-f]{64})(?:\.u\d+)?\.json$/;
const OID = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

const defaultAlive = (pid: number): boolean => processAlive(pid, null);

/** Root's view of one user's home: every step through fds, owned by the user, no symlinks. */
class Home {
  private constructor(
    private readonly fd: number,
    readonly user: PasswdUser,
    private readonly maxBytes: number,
  ) {}

  static open(user: PasswdUser, maxBytes: number): Home | null {
    if (!user.home.startsWith('/') || user.home === '/') return null;
    let fd: number;
    try {
      fd = openDirNoFollow(user.home, { followSymlink: (_p, owner, holder) => owner === 0 && holder.uid === 0 });
    } catch {
      return null; // no home, or one we will not walk
    }
    return new Home(fd, user, maxBytes);
  }

  /** A directory of the home (one component), owned by the user; null when absent or not theirs. */
  dir(name: string): number | null {
    let fd: number;
    try {
      fd = openDirAt(this.fd, name);
    } catch {
      return null;
    }
    if (fstatFd(fd).uid !== this.user.uid) {
      closeFd(fd);
      return null;
    }
    return fd;
  }

  /** A regular file in dirfd owned by the user, at most maxBytes; null when absent or refused. */
  read(dirfd: number, name: string): string | null {
    let fd: number;
    try {
      fd = openat(dirfd, name, O.RDONLY | O.NOFOLLOW | O.NONBLOCK);
    } catch {
      return null;
    }
    return withFd(fd, (f) => {
      const st = fstatFd(f);
      if (st.kind !== 'file' || st.uid !== this.user.uid || st.size > this.maxBytes) return null;
      const buf = Buffer.alloc(st.size);
      let off = 0;
      while (off < st.size) {
        const n = readSync(f, buf, off, st.size - off, off);
        if (n === 0) break;
        off += n;
      }
      return buf.subarray(0, off).toString('utf8');
    });
  }

  exists(dirfd: number, name: string): boolean {
    try {
      closeFd(openat(dirfd, name, O.RDONLY | O.NOFOLLOW | O.NONBLOCK));
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ELOOP'; // a symlink stands there: something exists
    }
  }

  close(): void {
    closeFd(this.fd);
  }
}

interface UserProject {
  handle: string;
  founder: string;
  scope: Scope;
  members: string[];
  tombstoned: boolean;
}

function readUserProject(home: Home, gitbackFd: number, pid: string): UserProject | null {
  let dfd: number;
  try {
    dfd = openDirAt(gitbackFd, pid);
  } catch {
    return null;
  }
  return withFd(dfd, (fd) => {
    if (fstatFd(fd).uid !== home.user.uid) return null;
    const text = home.read(fd, 'project.json');
    if (text === null) return null;
    let v: Record<string, unknown>;
    try {
      v = parseStrictJson(text, { what: 'project.json', maxBytes: 256 * 1024 }) as Record<string, unknown>;
    } catch {
      return null;
    }
    if (v.project_id !== pid || !isValidHandle(v.handle) || !isHex64(v.founder) || (v.scope !== 'swarm-wide' && v.scope !== 'members-only') || !Array.isArray(v.members)) return null;
    // the user writes this file: a founder and handle that do not derive the id name some other project
    if (projectId(fromHex(v.founder as string), v.handle) !== pid) return null;
    return { handle: v.handle, founder: v.founder as string, scope: v.scope, members: (v.members as unknown[]).filter((m): m is string => isHex64(m)), tombstoned: v.tombstoned_at !== null && v.tombstoned_at !== undefined };
  });
}

/** Refs of a bare repo: packed-refs, then loose refs over them; symbolic refs skipped. */
export function readRepoRefs(gitDir: string, maxEntries = 4096): { refs: Record<string, string>; cut: boolean } {
  const refs = new Map<string, string>();
  let cut = false;
  const packed = join(gitDir, 'packed-refs');
  if (existsSync(packed)) {
    const st = statSync(packed);
    if (st.size <= 16 * 1024 * 1024) {
      for (const line of readFileSync(packed, 'utf8').split('\n')) {
        const m = /^([0-9a-f]{40}|[0-9a-f]{64}) (refs\/\S+)$/.exec(line);
        if (m) refs.set(m[2]!, m[1]!);
      }
    } else cut = true;
  }
  let seen = 0;
  const walk = (dir: string, prefix: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names.sort()) {
      if (++seen > maxEntries) {
        cut = true;
        return;
      }
      const p = join(dir, n);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p, `${prefix}${n}/`);
      else if (st.isFile() && st.size <= 128 && !n.endsWith('.lock')) {
        const t = readFileSync(p, 'utf8').trim();
        if (OID.test(t)) refs.set(`${prefix}${n}`, t);
      }
    }
  };
  walk(join(gitDir, 'refs'), 'refs/');
  return { refs: Object.fromEntries([...refs].sort(([a], [b]) => (a < b ? -1 : 1))), cut };
}

/** Bytes under a directory (not following symlinks), at most maxEntries entries walked. */
export function treeBytes(dir: string, maxEntries: number): { bytes: number; cut: boolean } {
  let bytes = 0;
  let seen = 0;
  const cut = false;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const n of names) {
      if (++seen > maxEntries) return { bytes, cut: true };
      const st = lstatSync(join(d, n));
      if (st.isDirectory()) stack.push(join(d, n));
      else bytes += st.size;
    }
  }
  return { bytes, cut };
}

function countEnvelopes(dir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  const ids = new Set<string>();
  for (const n of names) {
    const m = ENVELOPE_FILE.exec(n);
    if (m) ids.add(m[1]!);
  }
  return ids.size;
}

function puddleUser(home: Home, alive: (pid: number) => boolean): PuddleUserTrait | null {
  const pfd = home.dir(PUDDLE_DIR);
  if (pfd === null) return null;
  return withFd(pfd, (fd) => {
    const pubText = home.read(fd, 'identity.pub');
    const pm = pubText === null ? null : /^([0-9a-f]{64})\n?$/.exec(pubText);
    const pubkey = pm ? pm[1]! : null;
    const initialized = pubkey !== null && home.exists(fd, 'identity.wrapped');
    let unlocked = false;
    const sess = home.read(fd, 'session.unlocked');
    if (sess !== null && pubkey !== null) {
      try {
        const s = JSON.parse(sess) as { pid?: unknown; pubkey?: unknown };
        unlocked = typeof s.pid === 'number' && Number.isSafeInteger(s.pid) && s.pid > 0 && s.pubkey === pubkey && alive(s.pid);
      } catch {
        unlocked = false;
      }
    }
    let name_claim: NameClaim | null = null;
    const claimText = home.read(fd, 'name-claim.json');
    if (claimText !== null) {
      try {
        name_claim = checkNameClaim(parseStrictJson(claimText, { what: 'name-claim.json', maxBytes: 4096 }));
      } catch {
        name_claim = null; // a damaged claim is not reported (the user's `puddle name` verbs say why)
      }
    }
    return { user: home.user.name, uid: home.user.uid, pubkey, initialized, unlocked, pair_pending: home.exists(fd, 'pair.pending'), name_claim };
  });
}

/** One full collection (what TraitsCollector caches). */
export function collectTraits(o: CollectOptions): Traits {
  const maxFile = o.maxFileBytes ?? 64 * 1024;
  const alive = o.alive ?? defaultAlive;
  const cut: string[] = [];
  const users: PuddleUserTrait[] = [];
  const userProjects = new Map<string, UserProject[]>();
  let extraUsers = 0;
  const seenUid = new Set<number>();
  for (const u of o.users()) {
    if (seenUid.has(u.uid)) continue;
    seenUid.add(u.uid);
    const home = Home.open(u, maxFile);
    if (home === null) continue;
    try {
      const p = puddleUser(home, alive);
      if (p !== null) {
        if (users.length < MAX_TRAIT_USERS) users.push(p);
        else extraUsers++;
      }
      const gfd = home.dir(GITBACK_DIR);
      if (gfd !== null) {
        withFd(gfd, (fd) => {
          let names: string[];
          try {
            names = readdirFd(fd);
          } catch {
            names = [];
          }
          for (const pid of names.filter((n) => PID_DIR.test(n)).slice(0, 4 * MAX_TRAIT_PROJECTS)) {
            const up = readUserProject(home, fd, pid);
            if (up === null) continue;
            const list = userProjects.get(pid) ?? [];
            list.push(up);
            userProjects.set(pid, list);
          }
        });
      }
    } finally {
      home.close();
    }
  }
  if (extraUsers > 0) cut.push(`${extraUsers} user(s) with a puddle beyond the first ${MAX_TRAIT_USERS} are not reported`);

  const projectsDir = paths.gitbackProjects(o.env);
  const repos = new Set<string>();
  try {
    for (const n of readdirSync(projectsDir)) if (/^[0-9a-f]{64}\.git$/.test(n)) repos.add(n.slice(0, 64));
  } catch {
    // no bare repos on this envoy
  }
  const pids = [...new Set([...userProjects.keys(), ...repos])].sort();
  const projects: GitbackProjectTrait[] = [];
  const replicas: GitbackReplicaTrait[] = [];
  let extraProjects = 0;
  const envelopes = paths.gitbackEnvelopes(o.env);
  const tombstones = join(paths.gitbackBase(o.env), 'tombstones');
  for (const pid of pids) {
    const ups = userProjects.get(pid);
    if (projects.length + replicas.length >= MAX_TRAIT_PROJECTS) {
      extraProjects++;
      continue;
    }
    const gitDir = join(projectsDir, `${pid}.git`);
    if (ups === undefined) {
      // held for no local user: what it holds, named by the envoys whose users hold it
      const h = holdingOf(gitDir, pid.slice(0, 12) + '…', o, cut);
      replicas.push({ project_id: pid, ...h, revokes: countEnvelopes(join(envelopes, pid, 'revokes')), leaves: countEnvelopes(join(envelopes, pid, 'leaves')), tombstoned: existsSync(join(tombstones, `${pid}.json`)) });
      continue;
    }
    const first = ups[0]!;
    const members = [...new Set([first.founder, ...ups.flatMap((u) => u.members)])];
    if (members.length > MAX_TRAIT_MEMBERS) cut.push(`project ${first.handle}: ${members.length - MAX_TRAIT_MEMBERS} member(s) beyond ${MAX_TRAIT_MEMBERS} not reported`);
    const { bare_repo: bare, bare_repo_bytes: bytes, refs } = repos.has(pid) ? holdingOf(gitDir, first.handle, o, cut) : { bare_repo: false, bare_repo_bytes: 0, refs: {} };
    projects.push({
      project_id: pid,
      handle: first.handle,
      founder: first.founder,
      scope: first.scope,
      members: members.slice(0, MAX_TRAIT_MEMBERS),
      bare_repo: bare,
      bare_repo_bytes: bytes,
      refs,
      revokes: countEnvelopes(join(envelopes, pid, 'revokes')),
      leaves: countEnvelopes(join(envelopes, pid, 'leaves')),
      tombstoned: ups.some((u) => u.tombstoned) || existsSync(join(tombstones, `${pid}.json`)),
    });
  }

  if (extraProjects > 0) cut.push(`${extraProjects} project(s) beyond the first ${MAX_TRAIT_PROJECTS} are not reported`);
  const traits: Traits = { v: 1, puddle: { users }, gitback: replicas.length > 0 ? { projects, replicas } : { projects } };
  if (cut.length > 0) traits.cut = cut.slice(0, 16).map((c) => c.slice(0, 200));
  // the last bound: the whole text; drop replicas, then projects, from the end until it fits
  while (Buffer.byteLength(traitsText(traits)) > MAX_TRAITS_BYTES && (traits.gitback.replicas !== undefined || traits.gitback.projects.length > 0)) {
    const g = traits.gitback;
    if (g.replicas !== undefined) {
      g.replicas.pop();
      if (g.replicas.length === 0) delete g.replicas;
    } else g.projects.pop();
    traits.cut = [...(traits.cut ?? []).slice(0, 15), `projects cut to ${g.projects.length} and replicas to ${g.replicas?.length ?? 0} to stay under ${MAX_TRAITS_BYTES} bytes`];
  }
  return traits;
}

/** What a bare repo holds: its refs (cut to MAX_TRAIT_REFS) and size; cuts said in `cut`. */
function holdingOf(gitDir: string, label: string, o: CollectOptions, cut: string[]): { bare_repo: true; bare_repo_bytes: number; refs: Record<string, string> } {
  const r = readRepoRefs(gitDir);
  const names = Object.keys(r.refs);
  if (names.length > MAX_TRAIT_REFS || r.cut) cut.push(`project ${label}: ${Math.max(0, names.length - MAX_TRAIT_REFS)} ref(s) beyond ${MAX_TRAIT_REFS} not reported${r.cut ? ' (the refs walk was cut)' : ''}`);
  const refs = Object.fromEntries(names.slice(0, MAX_TRAIT_REFS).map((k) => [k, r.refs[k]!]));
  const t = treeBytes(gitDir, o.maxRepoEntries ?? 20_000);
  if (t.cut) cut.push(`project ${label}: bare_repo_bytes counts only the first ${o.maxRepoEntries ?? 20_000} entries`);
  return { bare_repo: true, bare_repo_bytes: t.bytes, refs };
}

/** A cheap signal that something a trait reads may have changed: stat()s only, no reads. */
export function changeSignal(o: CollectOptions, passwdFile: string | null): string {
  const parts: string[] = [];
  const st = (p: string) => {
    try {
      const s = lstatSync(p, { bigint: true });
      parts.push(`${p}:${s.ino}:${s.mtimeNs}:${s.size}`);
      return s;
    } catch {
      parts.push(`${p}:-`);
      return null;
    }
  };
  if (passwdFile !== null) st(passwdFile);
  for (const u of o.users()) {
    if (!u.home.startsWith('/') || u.home === '/') continue;
    st(join(u.home, PUDDLE_DIR));
    const g = st(join(u.home, GITBACK_DIR));
    if (g?.isDirectory()) {
      try {
        for (const n of readdirSync(join(u.home, GITBACK_DIR))) if (PID_DIR.test(n)) st(join(u.home, GITBACK_DIR, n));
      } catch {
        // unreadable: the periodic full collection sees it
      }
    }
  }
  const projectsDir = paths.gitbackProjects(o.env);
  st(projectsDir);
  st(join(paths.gitbackBase(o.env), 'tombstones'));
  try {
    for (const n of readdirSync(projectsDir)) {
      if (!/^[0-9a-f]{64}\.git$/.test(n)) continue;
      const g = join(projectsDir, n);
      st(join(g, 'packed-refs'));
      const walk = (d: string, depth: number) => {
        const s = st(d);
        if (s === null || !s.isDirectory() || depth > 4) return;
        for (const c of readdirSync(d)) if (lstatSync(join(d, c)).isDirectory()) walk(join(d, c), depth + 1);
      };
      walk(join(g, 'refs'), 0);
      const pid = n.slice(0, 64);
      st(join(paths.gitbackEnvelopes(o.env), pid, 'revokes'));
      st(join(paths.gitbackEnvelopes(o.env), pid, 'leaves'));
    }
  } catch {
    // no projects directory
  }
  return parts.join('\n');
}

export interface CurrentTraits {
  traits: Traits;
  text: string;
  sha256: string;
  /** this call collected them afresh (false: the change signal said nothing changed) */
  collected: boolean;
}

/**
 * The agent's traits, recollected only when the change signal moves or maxAgeMs has passed
 * since the last full collection (a helper that died without removing session.unlocked,
 * a ref updated within the same mtime tick). `detect: false` collects every time (the bench).
 */
export class TraitsCollector {
  private last: { signal: string; atMs: number; current: CurrentTraits } | null = null;

  constructor(
    private readonly o: CollectOptions & { passwdFile: string | null; maxAgeMs?: number; detect?: boolean; now?: () => number },
  ) {}

  current(): CurrentTraits {
    const now = (this.o.now ?? Date.now)();
    const detect = this.o.detect ?? true;
    const signal = detect ? changeSignal(this.o, this.o.passwdFile) : '';
    const l = this.last;
    if (detect && l !== null && l.signal === signal && now - l.atMs < (this.o.maxAgeMs ?? 60_000)) return { ...l.current, collected: false };
    const traits = collectTraits(this.o);
    const text = traitsText(traits);
    const current: CurrentTraits = { traits, text, sha256: traitsSha(text), collected: true };
    this.last = { signal, atMs: now, current };
    return current;
  }
}
