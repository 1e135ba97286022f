/**
 * What the swarm peer server needs to know of this envoy's gitback (read as root, through
 * the same owner-checked stores the helper daemon uses): the projects its local users hold
 * (so replication knows which members-only projects this envoy is a member of, and which
 * handle to announce), a chain of a local member to present when fetching one, and the
 * envoy's own trust view of a project (the revocations in its envelope store, the
 * delegations it has verified, its tombstone).
 */
import { join } from 'node:path';
import type { Clock } from '../platform/clock.js';
import type { Env } from '../platform/paths.js';
import { encodePushChainHeader, type Delegation, type Hex, type Scope } from '../trust/index.js';
import { checkUsercrateGate } from './gate.js';
import { diskStores } from './stores/disk.js';
import { checkOwnedDir, listProjectIds } from './state.js';

export interface LocalProject {
  projectId: Hex;
  handle: string;
  scope: Scope;
  /** the X-Vigo-Chain of one local member (the first user, in passwd order, who holds it) */
  chain: string;
  /** that user's project.json::cross_subnet_members: peers beyond the LAN's announces (nominations; mTLS proves them) */
  crossSubnetMembers: string[];
}

/** The trust view replication verifies incoming updates with (swarm's ProjectTrustView). */
export interface LocalTrustView {
  revocations: { revoked: ReadonlyMap<Hex, string | null>; revokedAt: ReadonlyMap<Hex, number>; left: ReadonlyMap<Hex, string | null> };
  knownDelegations: Delegation[];
  tombstoned: boolean;
}

/** At most this many projects are taken from one scan (the rest are logged once). */
export const MAX_LOCAL_PROJECTS = 4096;

export class LocalGitbackView {
  private readonly stores;
  private readonly log: (m: string) => void;

  constructor(
    private readonly env: Env,
    passwdFile: string,
    private readonly clock: Clock,
    log: (m: string) => void,
  ) {
    this.log = log;
    this.stores = diskStores(env, passwdFile, log);
  }

  /** Every live project some local user whose usercrate grants gitback holds, once each. */
  projects(): LocalProject[] {
    const out = new Map<Hex, LocalProject>();
    let users;
    try {
      users = this.stores.users.list();
    } catch (e) {
      this.log(`swarm: cannot read ${this.stores.users.source}: ${e instanceof Error ? e.message : String(e)}`);
      return [];
    }
    for (const u of users) {
      const base = join(u.home, '.vigo-gitback');
      try {
        checkUsercrateGate(u.uid, u.name, this.env);
        if (!checkOwnedDir(base, u.uid)) continue;
      } catch {
        continue; // no gitback for this user here, or a home that is not its own
      }
      for (const pid of listProjectIds(base)) {
        if (out.has(pid)) continue;
        if (out.size >= MAX_LOCAL_PROJECTS) {
          this.log(`swarm: more than ${MAX_LOCAL_PROJECTS} local projects; the rest are not joined`);
          return [...out.values()];
        }
        try {
          const s = this.stores.users.project(u, pid);
          if (s === null || s.config.tombstoned_at !== null || this.stores.projects.isTombstoned(pid)) continue;
          out.set(pid, { projectId: pid, handle: s.config.handle, scope: s.config.scope, chain: encodePushChainHeader(s.chain, s.delegations), crossSubnetMembers: [...s.config.cross_subnet_members] });
        } catch (e) {
          this.log(`swarm: skipping ${u.name}'s project ${pid.slice(0, 12)}…: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
    return [...out.values()];
  }

  /** The delegations this envoy has verified for a project (envelope gossip's knownDelegations). */
  delegations(projectId: Hex): Delegation[] {
    return this.stores.projects.delegations(projectId);
  }

  /** Whether the project is tombstoned on this envoy. */
  isTombstoned(projectId: Hex): boolean {
    return this.stores.projects.isTombstoned(projectId);
  }

  trustView(projectId: Hex): LocalTrustView {
    const known = this.stores.projects.delegations(projectId);
    const set = this.stores.envelopes.load(projectId, Math.floor(this.clock.now() / 1000), known).set;
    return { revocations: { revoked: set.revoked, revokedAt: set.revokedAt, left: set.left }, knownDelegations: known, tombstoned: this.stores.projects.isTombstoned(projectId) };
  }
}
