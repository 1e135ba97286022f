/**
 * The seam between the helper daemon and the swarm's replication (docs/gitback.md "The
 * push path"). The daemon calls it after a receive that changed refs; the agent sets one
 * at runtime (`GitbackService.setReplicator`) while this envoy has a swarm assignment, and
 * null when it has none: pushes then work locally and report nothing. src/swarm/replicator.ts
 * implements it over a SwarmNode. The daemon never holds a puddle key: the manifest it
 * hands over was signed by the pusher's session helper, through git-remote-gitback.
 */
import type { Manifest, RefUpdate } from '../wire/gitback-manifest.js';

/** How many of the peers known at push time acknowledged holding a manifest's tips. */
export interface ReplicaCount {
  acked: number;
  of: number;
}

export interface GitbackReplicator {
  /** this envoy's id: the manifest's `envoy` field (the sequence stream is pusher × envoy) */
  readonly envoyId: string;
  /**
   * The change is in the bare repo (the receive lock is still held): bundle it for the
   * fan-out. `refs` are the ref moves the receive made (sorted by ref); the answer is
   * what the manifest must sign: the bundle's sha256, and the moves as replication will
   * apply them (a ref's `old` is the tip replication last recorded, so a change that was
   * never replicated travels with the next signed one). No refs left: nothing to replicate.
   */
  preparePush(projectId: string, refs: readonly RefUpdate[]): Promise<{ bundleSha256: string; refs: RefUpdate[] }>;
  /** The tips replication recorded for the project (ref → tip): what root's `replicate` diffs the bare repo against. */
  heldRefs(projectId: string): ReadonlyMap<string, string>;
  /** Records the pusher-signed update and fans it out; meta.member: a local user holds the project (the pusher does). */
  localPush(update: { manifest: Manifest; chain: string }, meta: { scope: Manifest['scope']; member: boolean }): void;
  /** A local user holds the project (granted access here): replication counts this envoy a member. */
  member(projectId: string, scope: Manifest['scope']): void;
  /** Acknowledgements so far for a manifest localPush recorded (of: the peers targeted at push time). */
  replicas(projectId: string, manifestId: string): ReplicaCount;
  /**
   * Resolves once `n` peers acknowledged the manifest, all targeted peers did, or `withinMs`
   * passed, with the count then; `onChange` hears every new acknowledgement.
   */
  waitReplicas(projectId: string, manifestId: string, n: number, withinMs: number, onChange?: (c: ReplicaCount) => void): Promise<ReplicaCount>;
}
