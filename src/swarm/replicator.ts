/**
 * The helper daemon's GitbackReplicator over a SwarmNode: what a push on this envoy hands
 * to replication (docs/gitback.md "The push path"). The agent builds one per running node
 * and sets it on the gitback service (`setReplicator`), null when the node stops.
 */
import type { GitbackReplicator, ReplicaCount } from '../gitback/index.js';
import type { Hex, Scope } from '../trust/index.js';
import type { Manifest, RefUpdate } from '../wire/gitback-manifest.js';
import type { SwarmNode } from './node.js';

export class SwarmReplicator implements GitbackReplicator {
  constructor(private readonly node: SwarmNode) {}

  get envoyId(): string {
    return this.node.envoyId;
  }

  /**
   * Each ref's old tip becomes the one replication recorded (when it recorded the ref):
   * a push whose manifest was never signed left the repo ahead of it, and this push's
   * manifest and bundle then carry that change along. A ref back at its recorded tip moves nothing.
   */
  async preparePush(projectId: Hex, refs: readonly RefUpdate[]): Promise<{ bundleSha256: Hex; refs: RefUpdate[] }> {
    const held = this.node.store.refs(projectId);
    const moves = refs.map((r) => (held.has(r.ref) ? { ...r, old: held.get(r.ref)!.tip } : { ...r })).filter((r) => r.old !== r.new);
    if (moves.length === 0) return { bundleSha256: '', refs: [] };
    const { bundleSha256 } = await this.node.preparePush(projectId, moves);
    return { bundleSha256, refs: moves };
  }

  heldRefs(projectId: Hex): ReadonlyMap<string, string> {
    // a ref replication recorded as deleted (tip null) is absent, as in the repo
    return new Map([...this.node.store.refs(projectId)].flatMap(([ref, r]) => (r.tip === null ? [] : [[ref, r.tip] as const])));
  }

  localPush(update: { manifest: Manifest; chain: string }, meta: { scope: Scope; member: boolean }): void {
    this.node.localPush(update, meta);
  }

  member(projectId: Hex, scope: Scope): void {
    if (this.node.store.project(projectId)?.member !== true) this.node.join(projectId, scope);
  }

  replicas(_projectId: Hex, manifestId: Hex): ReplicaCount {
    return this.node.acks.count(manifestId);
  }

  waitReplicas(_projectId: Hex, manifestId: Hex, n: number, withinMs: number, onChange?: (c: ReplicaCount) => void): Promise<ReplicaCount> {
    return this.node.acks.wait(manifestId, n, withinMs, onChange);
  }
}
