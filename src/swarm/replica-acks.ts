/**
 * The replica report's bookkeeping (docs/gitback.md "The replica report"): for each
 * manifest pushed on this envoy, the peers it was sent to at push time and which of them
 * answered holding its tips. A peer acknowledges by the tips in its answer to a push or a
 * catch-up fetch, never by saying so: the tips are what its replica store committed.
 */
import type { RefUpdate } from '../wire/gitback-manifest.js';
import type { Hex } from '../trust/index.js';
import type { PeerKey } from './peers.js';
import type { Tips } from './store.js';

/** Most recent pushes whose acknowledgements are remembered (the report asks within seconds). */
export const MAX_TRACKED_PUSHES = 1024;

export interface ReplicaCount {
  acked: number;
  of: number;
}

interface Tracked {
  projectId: Hex;
  refs: readonly RefUpdate[];
  targets: ReadonlySet<PeerKey>;
  acked: Set<PeerKey>;
}

/** A peer's tips hold a manifest when every ref is at its new tip (a deleted ref: absent). */
function holds(tips: Readonly<Tips>, refs: readonly RefUpdate[]): boolean {
  return refs.every((r) => (r.new === null ? tips[r.ref] === undefined : tips[r.ref] === r.new));
}

export class ReplicaAcks {
  private readonly pushes = new Map<Hex, Tracked>();
  private readonly listeners = new Set<() => void>();

  /** A manifest was pushed here and is being sent to `targets`. */
  pushed(manifestId: Hex, projectId: Hex, refs: readonly RefUpdate[], targets: readonly PeerKey[]): void {
    this.pushes.delete(manifestId);
    this.pushes.set(manifestId, { projectId, refs, targets: new Set(targets), acked: new Set() });
    while (this.pushes.size > MAX_TRACKED_PUSHES) this.pushes.delete(this.pushes.keys().next().value!);
  }

  /** A peer answered with the tips it holds for a project. */
  heard(projectId: Hex, peer: PeerKey, tips: Readonly<Tips>): void {
    let changed = false;
    for (const t of this.pushes.values()) {
      if (t.projectId !== projectId || !t.targets.has(peer) || t.acked.has(peer) || !holds(tips, t.refs)) continue;
      t.acked.add(peer);
      changed = true;
    }
    if (changed) for (const l of [...this.listeners]) l();
  }

  count(manifestId: Hex): ReplicaCount {
    const t = this.pushes.get(manifestId);
    return t === undefined ? { acked: 0, of: 0 } : { acked: t.acked.size, of: t.targets.size };
  }

  /** Resolves once n peers (or every target) acknowledged, or after withinMs, with the count then. */
  wait(manifestId: Hex, n: number, withinMs: number, onChange?: (c: ReplicaCount) => void): Promise<ReplicaCount> {
    return new Promise((resolve) => {
      const enough = (c: ReplicaCount) => c.acked >= Math.min(n, c.of) || c.acked >= n;
      const first = this.count(manifestId);
      if (enough(first)) return resolve(first);
      const listener = () => {
        const c = this.count(manifestId);
        onChange?.(c);
        if (enough(c)) finish(c);
      };
      const timer = setTimeout(() => finish(this.count(manifestId)), withinMs);
      const finish = (c: ReplicaCount) => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        resolve(c);
      };
      this.listeners.add(listener);
    });
  }
}
