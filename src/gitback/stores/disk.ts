/**
 * The stores on disk, as the envoy has always kept them: the envelope store and the
 * bindings, delegation records and tombstones under $VIGO_ROOT/var/lib/vigo/swarm/gitback
 * (root-owned), /etc/passwd, and each user's home read owner-checked (state.ts ownedReader).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../platform/atomic.js';
import { VigoError } from '../../platform/errors.js';
import { paths, type Env } from '../../platform/paths.js';
import { type Delegation, type LeaveEnvelope, type RevokeEnvelope } from '../../trust/index.js';
import { readBinding, readDelegationRecord, removeBinding, writeBinding, writeDelegationRecord } from '../binding.js';
import { EnvelopeCache, heldByUid, leavesDir, loadStore, revokesDir, storeLeave, storeRevoke } from '../envelopes.js';
import { snapshotRefs, snapshotRefsAsync } from '../daemon/git.js';
import { checkGitbackGates } from '../gate.js';
import { readPasswd, type PasswdEntry } from '../passwd.js';
import { checkOwnedDir, loadProject, ownedReader } from '../state.js';
import { checkCasArgs } from './stores.js';
import type { AccessStores, BindingStore, CasResult, EnvelopeKind, EnvelopeStore, HeldEnvelopes, ProjectStore, RefMap, RefStore, TombstoneRecord, UserDirectory } from './stores.js';

export function tombstonesDir(env: Env): string {
  return join(paths.gitbackBase(env), 'tombstones');
}

export class DiskEnvelopeStore implements EnvelopeStore {
  readonly dir: string;
  constructor(
    env: Env,
    private readonly log: (m: string) => void,
    readonly cache: EnvelopeCache = new EnvelopeCache(),
  ) {
    this.dir = paths.gitbackEnvelopes(env);
  }
  load(pid: string, now: number, knownDelegations: Delegation[]): HeldEnvelopes {
    return loadStore(this.dir, pid, now, this.log, this.cache, { knownDelegations });
  }
  heldByUid(pid: string, uid: number): number {
    return heldByUid(this.dir, pid, uid);
  }
  has(kind: EnvelopeKind, pid: string, id: string, uid: number): boolean {
    return existsSync(join(kind === 'revoke' ? revokesDir(this.dir, pid) : leavesDir(this.dir, pid), `${id}.u${uid}.json`));
  }
  put(kind: 'revoke', env: RevokeEnvelope, uid: number): void;
  put(kind: 'leave', env: LeaveEnvelope, uid: number): void;
  put(kind: EnvelopeKind, env: RevokeEnvelope | LeaveEnvelope, uid: number): void {
    if (kind === 'revoke') storeRevoke(this.dir, env as RevokeEnvelope, uid);
    else storeLeave(this.dir, env as LeaveEnvelope, uid);
  }
}

export class DiskBindingStore implements BindingStore {
  constructor(private readonly env: Env) {}
  get(uid: number) {
    return readBinding(this.env, uid);
  }
  put(rec: Parameters<typeof writeBinding>[1]): void {
    writeBinding(this.env, rec);
  }
  remove(uid: number): boolean {
    return removeBinding(this.env, uid);
  }
}

export class DiskProjectStore implements ProjectStore {
  constructor(private readonly env: Env) {}
  delegations(pid: string): Delegation[] {
    return readDelegationRecord(this.env, pid);
  }
  recordDelegations(pid: string, delegations: Delegation[], now: number): void {
    writeDelegationRecord(this.env, pid, delegations, now);
  }
  isTombstoned(pid: string): boolean {
    return existsSync(join(tombstonesDir(this.env), `${pid}.json`));
  }
  putTombstone(rec: TombstoneRecord): boolean {
    const file = join(tombstonesDir(this.env), `${rec.project_id}.json`);
    if (existsSync(file)) return false;
    mkdirSync(tombstonesDir(this.env), { recursive: true, mode: 0o700 });
    writeFileAtomic(file, JSON.stringify({ project_id: rec.project_id, tombstoned_at: rec.tombstoned_at, successor: rec.successor, by: rec.by }) + '\n', { mode: 0o600 });
    return true;
  }
}

/**
 * The one state root that is not a user's home: the vigosrv's ops-puddle dir
 * (<srv>/ops-puddle, root-owned), whose .vigo-gitback/<pid>/ holds the stacks project
 * (docs/spanner.md "The stacks project"). It is walked as uid 0 (the usercrate gate does not
 * apply to root; every file must be root's), after the passwd users; byUid(0) still finds
 * root's own entry first.
 */
export const OPS_PUDDLE_ROOT_NAME = 'vigo-ops-puddle';
export function opsPuddleStateRoot(env: Env): PasswdEntry {
  return { name: OPS_PUDDLE_ROOT_NAME, uid: 0, gid: 0, home: join(paths.srv(env), 'ops-puddle') };
}

/** The service-account puddle's public key file (vigosrv `--puddle-dir`'s default, <srv>/puddle). */
export function serviceIdentityFile(env: Env): string {
  return join(paths.srv(env), 'puddle', 'identity.pub');
}

function isServiceRoot(user: PasswdEntry, env: Env): boolean {
  const ops = opsPuddleStateRoot(env);
  return user.uid === 0 && user.name === ops.name && user.home === ops.home;
}

/** /etc/passwd (re-read per call: users come and go), the usercrate policy files, and homes read as root for the uid, owner-checked. */
export class DiskUserDirectory implements UserDirectory {
  constructor(
    readonly source: string,
    private readonly env: Env,
  ) {}
  /** /etc/passwd's users, then the ops-puddle state root when it holds project state (opsPuddleStateRoot) */
  list(): PasswdEntry[] {
    const users = readPasswd(this.source);
    const ops = this.serviceRoot();
    return ops !== null ? [...users, ops] : users;
  }
  serviceRoot(): PasswdEntry | null {
    const ops = opsPuddleStateRoot(this.env);
    return existsSync(join(ops.home, '.vigo-gitback')) ? ops : null;
  }
  byUid(uid: number): PasswdEntry | null {
    return this.list().find((u) => u.uid === uid) ?? null;
  }
  checkGate(uid: number, name: string): void {
    checkGitbackGates(uid, name, this.env);
  }
  project(user: PasswdEntry, pid: string) {
    const base = join(user.home, '.vigo-gitback');
    if (!checkOwnedDir(base, user.uid) || !checkOwnedDir(join(base, pid), user.uid)) return null;
    return loadProject(base, pid, ownedReader(user.uid));
  }
  identity(user: PasswdEntry): string | null {
    // the ops-puddle dir holds no puddle of its own: this host's service-account puddle presents there
    if (isServiceRoot(user, this.env)) return ownedReader(0)(serviceIdentityFile(this.env));
    return ownedReader(user.uid)(join(user.home, '.vigo-puddle', 'identity.pub'));
  }
}

/** Every store of the envoy on disk (the daemon's). */
export function diskStores(env: Env, passwdFile: string, log: (m: string) => void, envelopes?: EnvelopeCache): AccessStores & { envelopes: DiskEnvelopeStore } {
  return {
    users: new DiskUserDirectory(passwdFile, env),
    bindings: new DiskBindingStore(env),
    projects: new DiskProjectStore(env),
    envelopes: new DiskEnvelopeStore(env, log, envelopes),
  };
}

/**
 * A bare repo's refs in git itself. The swap is `git update-ref <ref> <new> <old>`, which
 * takes the ref's lock and compares under it, so it is atomic against any other writer
 * (a receive-pack included); an all-zero old value means "must not exist".
 */
export class GitRefStore implements RefStore {
  /** @param env a gitEnv(): what git processes inherit */
  constructor(private readonly env: NodeJS.ProcessEnv) {}
  list(repo: string): RefMap {
    return snapshotRefs(repo, this.env);
  }
  listAsync(repo: string): Promise<RefMap> {
    return snapshotRefsAsync(repo, this.env);
  }
  get(repo: string, ref: string): string | null {
    return this.list(repo).get(ref) ?? null;
  }
  cas(repo: string, ref: string, old: string | null, next: string | null): CasResult {
    checkCasArgs(repo, ref, old, next);
    if (!existsSync(repo)) throw new VigoError('E_NO_BARE_REPO', `${repo}: no such repo to move ${ref} in`);
    if (next === null && old === null) {
      // "delete it if it is absent": nothing to write, only the comparison
      const actual = this.get(repo, ref);
      return actual === null ? { ok: true } : { ok: false, actual };
    }
    const zero = '0'.repeat((next ?? old ?? '').length);
    const args = next === null ? ['update-ref', '--no-deref', '-d', ref, old ?? zero] : ['update-ref', '--no-deref', ref, next, old ?? zero];
    const r = spawnSync('git', ['--git-dir', repo, ...args], { env: this.env, encoding: 'utf8' });
    if (r.status === 0) return { ok: true };
    // refused: a moved ref is the answer; anything else (a missing object, a lock held by a
    // crashed writer) is an error, never mistaken for a mismatch
    const actual = this.get(repo, ref);
    if (actual !== old) return { ok: false, actual };
    throw new VigoError('E_GIT', `${repo}: git update-ref ${ref} failed: ${(r.stderr || String(r.error ?? '')).trim()}`, {
      hint: 'a stale <ref>.lock left by a killed git can be removed once no git runs on the repo',
    });
  }
}
