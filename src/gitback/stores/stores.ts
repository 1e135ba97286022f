/**
 * The small stores gitback's decisions read and write, as interfaces: the envoy's
 * envelope store, its uid → key bindings, its records of projects (the longest founder
 * delegation list verified, its tombstones) and what it reads of its local users (passwd,
 * the usercrate gate, each user's own owner-checked state). disk.ts holds the files that
 * exist today; memory.ts holds the same in maps, so a decision can be driven with no files
 * and no processes (a simulator keeps hundreds of envoys in one process this way).
 */
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
  /** throws E_USERCRATE_DENIED unless the user's usercrate grants gitback (root always may) */
  checkGate(uid: number, name: string): void;
  /** the state the user holds for pid; null when its directories are not its own or hold none */
  project(user: PasswdEntry, pid: string): ProjectState | null;
  /** the text of the user's ~/.vigo-puddle/identity.pub, null when it is missing */
  identity(user: PasswdEntry): string | null;
}

export interface AccessStores {
  users: UserDirectory;
  bindings: BindingStore;
  projects: ProjectStore;
  envelopes: EnvelopeStore;
}
