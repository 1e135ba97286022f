/**
 * What the replication state machine remembers, behind an interface so the agent can keep
 * it beside the bare repos (refs in git, the rest in state files) and the simulator can keep
 * it in memory. The machine never reaches for files, git or clocks itself.
 */
import type { Hex, Scope } from '../trust/index.js';
import type { Manifest, RefUpdate } from '../wire/gitback-manifest.js';

/** A manifest with the pusher's chain (the X-Vigo-Chain value) it verifies under. */
export interface SignedUpdate {
  manifest: Manifest;
  chain: string;
}

/** ref → tip (deleted refs are absent). */
export type Tips = Record<string, string>;

export interface RefState {
  /** null: deleted by the manifest named here (kept, so a replayed creation is recognised) */
  tip: string | null;
  manifestId: Hex;
  /** `<pusher>/<envoy>`: the sequence stream of the manifest that set it */
  stream: string;
  seq: number;
  /** this envoy's application counter: replaying heads in this order respects causality */
  order: number;
}

export interface ProjectMeta {
  projectId: Hex;
  scope: Scope;
  /** a local user holds the project (a member puddle on this envoy) */
  member: boolean;
}

export interface ReplicaStore {
  /** every project this envoy is a member of or holds a repo of, sorted by id */
  projects(): ProjectMeta[];
  project(projectId: Hex): ProjectMeta | undefined;
  refs(projectId: Hex): ReadonlyMap<string, RefState>;
  /** the signed update a ref's state came from (to serve it on) */
  update(projectId: Hex, manifestId: Hex): SignedUpdate | undefined;
  hasApplied(projectId: Hex, manifestId: Hex): boolean;
  /** highest seq applied from a stream; 0 when none */
  streamSeq(projectId: Hex, stream: string): number;
  /** git merge-base --is-ancestor: true when `ancestor` is reachable from `descendant` (or equal) */
  isAncestor(projectId: Hex, ancestor: string, descendant: string): boolean;
  /** Records an applied update and moves the given refs, all at once (compare-and-swap in git). */
  commit(meta: ProjectMeta, update: SignedUpdate, manifestId: Hex, applied: readonly RefUpdate[]): void;
}

export function streamOf(m: Manifest): string {
  return `${m.pusher}/${m.envoy}`;
}

export function tipsOf(refs: ReadonlyMap<string, RefState>): Tips {
  const out: Tips = {};
  for (const [ref, s] of [...refs].sort(([a], [b]) => (a < b ? -1 : 1))) if (s.tip !== null) out[ref] = s.tip;
  return out;
}

/** Most applied manifest ids remembered per project for replay refusal (oldest forgotten first). */
export const MAX_APPLIED_IDS = 65_536;

interface ProjectRecord {
  meta: ProjectMeta;
  refs: Map<string, RefState>;
  updates: Map<Hex, SignedUpdate>;
  applied: Set<Hex>;
  streams: Map<string, number>;
}

/** The in-memory ReplicaStore: the simulator's and the unit tests'. */
export class MemoryReplicaStore implements ReplicaStore {
  private readonly records = new Map<Hex, ProjectRecord>();
  private order = 0;

  /** @param ancestry git's answer to "is a reachable from b", for the commits this envoy has */
  constructor(private readonly ancestry: (projectId: Hex, ancestor: string, descendant: string) => boolean) {}

  /** A local user founded or joined the project (its state exists here, its repo maybe not). */
  join(projectId: Hex, scope: Scope): void {
    const r = this.records.get(projectId);
    if (r !== undefined) r.meta = { ...r.meta, member: true };
    else this.records.set(projectId, { meta: { projectId, scope, member: true }, refs: new Map(), updates: new Map(), applied: new Set(), streams: new Map() });
  }

  projects(): ProjectMeta[] {
    return [...this.records.values()].map((r) => r.meta).sort((a, b) => (a.projectId < b.projectId ? -1 : 1));
  }

  project(projectId: Hex): ProjectMeta | undefined {
    return this.records.get(projectId)?.meta;
  }

  refs(projectId: Hex): ReadonlyMap<string, RefState> {
    return this.records.get(projectId)?.refs ?? new Map();
  }

  update(projectId: Hex, manifestId: Hex): SignedUpdate | undefined {
    return this.records.get(projectId)?.updates.get(manifestId);
  }

  hasApplied(projectId: Hex, manifestId: Hex): boolean {
    return this.records.get(projectId)?.applied.has(manifestId) ?? false;
  }

  streamSeq(projectId: Hex, stream: string): number {
    return this.records.get(projectId)?.streams.get(stream) ?? 0;
  }

  isAncestor(projectId: Hex, ancestor: string, descendant: string): boolean {
    return ancestor === descendant || this.ancestry(projectId, ancestor, descendant);
  }

  commit(meta: ProjectMeta, update: SignedUpdate, manifestId: Hex, applied: readonly RefUpdate[]): void {
    let r = this.records.get(meta.projectId);
    if (r === undefined) {
      r = { meta, refs: new Map(), updates: new Map(), applied: new Set(), streams: new Map() };
      this.records.set(meta.projectId, r);
    }
    const m = update.manifest;
    const stream = streamOf(m);
    r.updates.set(manifestId, update);
    r.applied.add(manifestId);
    if (r.applied.size > MAX_APPLIED_IDS) r.applied.delete(r.applied.values().next().value!);
    if (m.seq > (r.streams.get(stream) ?? 0)) r.streams.set(stream, m.seq);
    const order = ++this.order;
    for (const u of applied) r.refs.set(u.ref, { tip: u.new, manifestId, stream, seq: m.seq, order });
    // Updates no ref points at any more are never served again.
    const live = new Set([...r.refs.values()].map((s) => s.manifestId));
    for (const id of r.updates.keys()) if (!live.has(id)) r.updates.delete(id);
  }
}
