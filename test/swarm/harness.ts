// Envoys built from the real swarm parts — peer table, in-memory store, replication
// machine, the real manifest verifier — over abstract commits: a commit is an id and its
// parents, and "is a an ancestor of b" walks that graph, as git merge-base would.
import { seededRng, type Rng } from '../../src/platform/clock.js';
import { VerifyCache, type Hex, type Scope } from '../../src/trust/index.js';
import {
  MemoryReplicaStore,
  ProjectPeers,
  ReplicationMachine,
  updateVerifier,
  type ReplicationConfig,
  type SignedUpdate,
} from '../../src/swarm/index.js';
import { oid } from './fixtures.js';

export class CommitGraph {
  private readonly parents = new Map<string, readonly string[]>();

  commit(label: string, parents: readonly string[] = []): string {
    const id = oid(label);
    this.parents.set(id, parents);
    return id;
  }

  isAncestor(a: string, b: string): boolean {
    const seen = new Set<string>();
    const todo = [b];
    while (todo.length > 0) {
      const c = todo.pop()!;
      if (c === a) return true;
      if (seen.has(c)) continue;
      seen.add(c);
      todo.push(...(this.parents.get(c) ?? []));
    }
    return false;
  }
}

export interface Envoy {
  host: string;
  store: MemoryReplicaStore;
  peers: ProjectPeers;
  machine: ReplicationMachine;
  /** token id → reason: revocations this envoy holds */
  revoked: Map<Hex, string | null>;
  /** The agent restarts: the store (git, state files) stays; the peer table and the machine start empty. */
  restart(): void;
}

export function makeEnvoy(host: string, graph: CommitGraph, opts: { rng?: Rng; config?: Partial<ReplicationConfig>; ttlMs?: number; member?: Array<[Hex, Scope]> } = {}): Envoy {
  const store = new MemoryReplicaStore((_pid, a, b) => graph.isAncestor(a, b));
  for (const [pid, scope] of opts.member ?? []) store.join(pid, scope);
  const revoked = new Map<Hex, string | null>();
  const rng = opts.rng ?? seededRng(host);
  const fresh = (): { peers: ProjectPeers; machine: ReplicationMachine } => {
    const peers = new ProjectPeers({ selfHost: host, ...(opts.ttlMs === undefined ? {} : { ttlMs: opts.ttlMs }) });
    const cache = new VerifyCache();
    const verifier = updateVerifier(() => ({ revocations: { revoked }, cache }));
    return { peers, machine: new ReplicationMachine(store, peers, verifier, rng, opts.config ?? {}) };
  };
  const envoy: Envoy = { host, store, revoked, ...fresh(), restart: () => Object.assign(envoy, fresh()) };
  return envoy;
}

export const update = (manifest: SignedUpdate['manifest'], chain: string): SignedUpdate => ({ manifest, chain });
