/**
 * The small stores gitback's decisions read and write, as interfaces: the envoy's
 * envelope store, its uid → key bindings, its records of projects (the longest founder
 * delegation list verified, its tombstones) and what it reads of its local users (passwd,
 * the usercrate gate, each user's own owner-checked state). disk.ts holds the files that
 * exist today; memory.ts holds the same in maps, so a decision can be driven with no files
 * and no processes (a simulator keeps hundreds of envoys in one process this way).
 */
import { VigoError } from '../../platform/errors.js';
import type { Delegation, LeaveEnvelope, RevocationSet, RevokeEnvelope } from '../../trust/index.js';
import type { BindingRecord } from '../binding.js';
import type { PasswdEntry } from '../passwd.js';
import type { ProjectState } from '../state.js';

export type EnvelopeKind = 'revoke' | 'leave';

/** What is held for a project: every stored envelope that verifies now, and what is in force. */
export interface HeldEnvelopes {
  revokes: RevokeEnvelope[];
  leaves: LeaveEnvelope[];
  set: RevocationSet;
}

/** Verified revokes and leaves per project, each counted for the local uid it came from. */
export interface EnvelopeStore {
  /** re-verified at `now` (unix seconds) against the envoy's delegation record */
  load(pid: string, now: number, knownDelegations: Delegation[]): HeldEnvelopes;
  /** envelopes uid holds for pid (its quota's count) */
  heldByUid(pid: string, uid: number): number;
  /** whether the envelope with this id is held for uid */
  has(kind: EnvelopeKind, pid: string, id: string, uid: number): boolean;
  /** stores a VERIFIED envelope for uid (a no-op when it is held already) */
  put(kind: 'revoke', env: RevokeEnvelope, uid: number): void;
  put(kind: 'leave', env: LeaveEnvelope, uid: number): void;
}

/** uid → the puddle key this envoy bound to it after a proof of possession. */
export interface BindingStore {
  /** null when unbound; a record it cannot read is an error naming it */
  get(uid: number): BindingRecord | null;
  put(rec: BindingRecord): void;
  /** drops the uid's binding (puddle leave); whether there was one */
  remove(uid: number): boolean;
}

export interface TombstoneRecord {
  project_id: string;
  tombstoned_at: number | null;
  successor: string | null;
  /** the local user whose founder chain stood behind it */
  by: string;
}

/** What the envoy itself records of projects, beyond any user's reach. */
export interface ProjectStore {
  /** the longest founder delegation list verified for pid ([] when none) */
  delegations(pid: string): Delegation[];
  recordDelegations(pid: string, delegations: Delegation[], now: number): void;
  isTombstoned(pid: string): boolean;
  /** false (and nothing written) when the project is tombstoned already */
  putTombstone(rec: TombstoneRecord): boolean;
}

/** The envoy's local users and what it reads of their homes, owner-checked. */
export interface UserDirectory {
  /** where the users come from, for messages ("uid 1234 is not in /etc/passwd") */
  readonly source: string;
  list(): PasswdEntry[];
  byUid(uid: number): PasswdEntry | null;
  /** throws E_SWARM_GATE/E_SWARM_UNASSIGNED unless this envoy's swarm gates enable gitback (root too), E_USERCRATE_DENIED unless the user's usercrate grants it (root always may) */
  checkGate(uid: number, name: string): void;
  /** the state the user holds for pid; null when its directories are not its own or hold none */
  project(user: PasswdEntry, pid: string): ProjectState | null;
  /** the text of the user's ~/.vigo-puddle/identity.pub, null when it is missing (the service root: its service-account puddle's) */
  identity(user: PasswdEntry): string | null;
  /**
   * The root-owned state root of this host's service-account puddle (the ops-puddle dir,
   * holding the stacks project), null when it holds no project state. Its presenter is the
   * service-account puddle's identity.pub; no uid binding (root is the caller).
   */
  serviceRoot(): PasswdEntry | null;
}

export interface AccessStores {
  users: UserDirectory;
  bindings: BindingStore;
  projects: ProjectStore;
  envelopes: EnvelopeStore;
}

/** ref name → object id */
export type RefMap = Map<string, string>;

/** A compare-and-swap's answer: moved, or refused with what the ref is at (null: absent). */
export type CasResult = { ok: true } | { ok: false; actual: string | null };

/**
 * A repo's refs (`repo` names the bare repo: its path on disk). Reads are snapshots; the
 * only write is a compare-and-swap of one ref, so a replica or a racing receive never
 * overwrites a ref that moved under it: a mismatch is a refusal naming the actual value.
 */
export interface RefStore {
  /** every ref under refs/ → its object id; empty when the repo does not exist */
  list(repo: string): RefMap;
  /** the same, without blocking the event loop (the daemon's snapshots around a receive) */
  listAsync(repo: string): Promise<RefMap>;
  /** the ref's object id, null when absent */
  get(repo: string, ref: string): string | null;
  /**
   * Moves `ref` to `next` (null: deletes it) only if it is at `old` now (null: only if it
   * is absent). Throws (naming the ref) on a malformed ref name or object id, a missing
   * repo, or an object the repo does not hold.
   */
  cas(repo: string, ref: string, old: string | null, next: string | null): CasResult;
}

/** git's ref-name rules (check-ref-format), for a full name under refs/. */
export function isRefName(ref: string): boolean {
  if (!ref.startsWith('refs/') || ref.endsWith('/') || ref.endsWith('.') || ref.includes('..') || ref.includes('//') || ref.includes('@{')) return false;
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref)) return false;
  return ref.split('/').every((c) => c !== '' && !c.startsWith('.') && !c.endsWith('.lock'));
}

const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** What every RefStore checks before a compare-and-swap: the same refusals on disk and in memory. */
export function checkCasArgs(repo: string, ref: string, old: string | null, next: string | null): void {
  if (!isRefName(ref)) throw new VigoError('E_BAD_REF', `${repo}: '${ref}' is not a ref name git accepts under refs/`);
  for (const [what, v] of [
    ['old', old],
    ['new', next],
  ] as const) {
    if (v !== null && !OID.test(v)) throw new VigoError('E_BAD_REF', `${repo}: ${ref}: the ${what} value '${v}' is not a full object id`);
  }
}
