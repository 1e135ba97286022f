/**
 * The stores in memory: the same contracts as disk.ts, held in maps, for unit tests of the
 * pure decisions and for a simulator keeping many envoys in one process. Envelopes are
 * re-verified on every load, as on disk (expiry and the delegation record count at `now`).
 */
import {
  envelopeId,
  resolveRevocations,
  verifyLeave,
  verifyRevoke,
  VerifyCache,
  type Delegation,
  type LeaveEnvelope,
  type RevokeEnvelope,
} from '../../trust/index.js';
import { VigoError } from '../../platform/errors.js';
import type { BindingRecord } from '../binding.js';
import type { PasswdEntry } from '../passwd.js';
import type { ProjectState } from '../state.js';
import { checkCasArgs } from './stores.js';
import type { AccessStores, BindingStore, CasResult, EnvelopeKind, EnvelopeStore, HeldEnvelopes, ProjectStore, RefMap, RefStore, TombstoneRecord, UserDirectory } from './stores.js';

export class MemoryEnvelopeStore implements EnvelopeStore {
  /** pid → "kind/id/uid" → envelope */
  readonly held = new Map<string, Map<string, { kind: EnvelopeKind; env: RevokeEnvelope | LeaveEnvelope; uid: number }>>();
  private readonly cache = new VerifyCache(1024);

  load(pid: string, now: number, knownDelegations: Delegation[]): HeldEnvelopes {
    const vopts = { cache: this.cache, ...(knownDelegations.length > 0 ? { knownDelegations } : {}) };
    const revokes: RevokeEnvelope[] = [];
    const leaves: LeaveEnvelope[] = [];
    for (const h of this.held.get(pid)?.values() ?? []) {
      try {
        if (h.kind === 'revoke') revokes.push(verifyRevoke(h.env, pid, now, vopts));
        else leaves.push(verifyLeave(h.env, pid, now, vopts));
      } catch {
        // as on disk: an envelope that no longer verifies is not held
      }
    }
    return { revokes, leaves, set: resolveRevocations(revokes, leaves) };
  }
  heldByUid(pid: string, uid: number): number {
    let n = 0;
    for (const h of this.held.get(pid)?.values() ?? []) if (h.uid === uid) n++;
    return n;
  }
  has(kind: EnvelopeKind, pid: string, id: string, uid: number): boolean {
    return this.held.get(pid)?.has(`${kind}/${id}/${uid}`) ?? false;
  }
  put(kind: 'revoke', env: RevokeEnvelope, uid: number): void;
  put(kind: 'leave', env: LeaveEnvelope, uid: number): void;
  put(kind: EnvelopeKind, env: RevokeEnvelope | LeaveEnvelope, uid: number): void {
    const m = this.held.get(env.project_id) ?? new Map();
    this.held.set(env.project_id, m);
    const k = `${kind}/${envelopeId(env)}/${uid}`;
    if (!m.has(k)) m.set(k, { kind, env, uid });
  }
}

export class MemoryBindingStore implements BindingStore {
  readonly records = new Map<number, BindingRecord>();
  get(uid: number): BindingRecord | null {
    return this.records.get(uid) ?? null;
  }
  put(rec: BindingRecord): void {
    this.records.set(rec.uid, rec);
  }
  remove(uid: number): boolean {
    return this.records.delete(uid);
  }
}

export class MemoryProjectStore implements ProjectStore {
  readonly records = new Map<string, { delegations: Delegation[]; updated_at: number }>();
  readonly tombstones = new Map<string, TombstoneRecord>();
  delegations(pid: string): Delegation[] {
    return this.records.get(pid)?.delegations ?? [];
  }
  recordDelegations(pid: string, delegations: Delegation[], now: number): void {
    this.records.set(pid, { delegations, updated_at: now });
  }
  isTombstoned(pid: string): boolean {
    return this.tombstones.has(pid);
  }
  putTombstone(rec: TombstoneRecord): boolean {
    if (this.tombstones.has(rec.project_id)) return false;
    this.tombstones.set(rec.project_id, rec);
    return true;
  }
}

/** A user of the in-memory directory: its passwd entry, whether its usercrate grants gitback, its identity.pub and its projects. */
export interface MemoryUser {
  entry: PasswdEntry;
  gitback: boolean;
  identity: string | null;
  projects: Map<string, ProjectState>;
}

export class MemoryUserDirectory implements UserDirectory {
  readonly source = 'the in-memory user directory';
  readonly users = new Map<number, MemoryUser>();
  /** the service root (DiskUserDirectory.serviceRoot): a test sets it, with its state and identity */
  service: MemoryUser | null = null;

  add(entry: PasswdEntry, opts: { gitback?: boolean; identity?: string | null } = {}): MemoryUser {
    const u: MemoryUser = { entry, gitback: opts.gitback ?? true, identity: opts.identity ?? null, projects: new Map() };
    this.users.set(entry.uid, u);
    return u;
  }
  list(): PasswdEntry[] {
    return [...this.users.values(), ...(this.service !== null ? [this.service] : [])].map((u) => u.entry);
  }
  byUid(uid: number): PasswdEntry | null {
    return this.users.get(uid)?.entry ?? null;
  }
  checkGate(uid: number, name: string): void {
    if (uid === 0 || this.users.get(uid)?.gitback === true) return;
    throw new VigoError('E_USERCRATE_DENIED', `gitback is not enabled for user ${name}: its usercrate does not grant gitback: true`);
  }
  project(user: PasswdEntry, pid: string): ProjectState | null {
    return this.of(user)?.projects.get(pid) ?? null;
  }
  identity(user: PasswdEntry): string | null {
    return this.of(user)?.identity ?? null;
  }
  serviceRoot(): PasswdEntry | null {
    return this.service?.entry ?? null;
  }
  private of(user: PasswdEntry): MemoryUser | undefined {
    return this.service !== null && user === this.service.entry ? this.service : this.users.get(user.uid);
  }
}

export function memoryStores(): AccessStores & { users: MemoryUserDirectory; bindings: MemoryBindingStore; projects: MemoryProjectStore; envelopes: MemoryEnvelopeStore } {
  return { users: new MemoryUserDirectory(), bindings: new MemoryBindingStore(), projects: new MemoryProjectStore(), envelopes: new MemoryEnvelopeStore() };
}

/** Refs in maps, with GitRefStore's compare-and-swap: a repo exists once it is created. */
export class MemoryRefStore implements RefStore {
  /** repo → ref → object id */
  readonly repos = new Map<string, RefMap>();
  create(repo: string): void {
    if (!this.repos.has(repo)) this.repos.set(repo, new Map());
  }
  list(repo: string): RefMap {
    return new Map(this.repos.get(repo) ?? []);
  }
  listAsync(repo: string): Promise<RefMap> {
    return Promise.resolve(this.list(repo));
  }
  get(repo: string, ref: string): string | null {
    return this.repos.get(repo)?.get(ref) ?? null;
  }
  cas(repo: string, ref: string, old: string | null, next: string | null): CasResult {
    checkCasArgs(repo, ref, old, next);
    const refs = this.repos.get(repo);
    if (refs === undefined) throw new VigoError('E_NO_BARE_REPO', `${repo}: no such repo to move ${ref} in`);
    const actual = refs.get(ref) ?? null;
    if (actual !== old) return { ok: false, actual };
    if (next === null) refs.delete(ref);
    else refs.set(ref, next);
    return { ok: true };
  }
}
