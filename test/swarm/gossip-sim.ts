// A deterministic network simulator for envelope gossip (like sim.ts for replication, after
// radicle-heartwood's simulator). Every envoy runs the real EnvelopeGossip, ProjectPeers and
// the trust core's verifiers over an in-memory store; only the network is simulated: a
// seeded Rng draws latency and loss, partitions drop whatever crosses them, and a request
// whose answer is lost reports a failure after the transport's deadline. Bytes are the JSON
// bodies each way plus a fixed per-request overhead (request line and headers; TLS records
// not counted), so figures compare designs, not wire captures.
import { seededRng, type Rng } from '../../src/platform/clock.js';
import { envelopeId, type Hex, type LeaveEnvelope, type RevokeEnvelope } from '../../src/trust/index.js';
import {
  EnvelopeGossip,
  ProjectPeers,
  encodeEnvelopePost,
  gossipPath,
  type EnvelopeGossipConfig,
  type EnvelopeKind,
  type GossipOutput,
  type GossipStep,
} from '../../src/swarm/index.js';
import { MemoryGossipStore } from './gossip-fixtures.js';

/** Request line and headers of one call, in bytes (what `curl -v` shows for these routes, roughly). */
export const REQUEST_OVERHEAD_BYTES = 200;

export interface GossipSimOptions {
  seed: number;
  envoys: number;
  projectId: Hex;
  /** peers each envoy knows of the project (symmetric; envoys − 1 is a full mesh, as on one LAN) */
  peersPerEnvoy: number;
  latencyMs: [number, number];
  loss: number;
  transportTimeoutMs: number;
  gossip: Partial<EnvelopeGossipConfig>;
}

export interface GossipSimNode {
  host: string;
  envoyId: string;
  store: MemoryGossipStore;
  peers: ProjectPeers;
  machine: EnvelopeGossip;
}

export interface GossipSimStats {
  events: number;
  messages: number;
  lost: number;
  bytes: number;
  posts: number;
  digests: number;
  pulls: number;
}

interface Event {
  at: number;
  seq: number;
  run: () => void;
}

export class GossipSim {
  readonly rng: Rng;
  readonly nodes: GossipSimNode[] = [];
  readonly stats: GossipSimStats = { events: 0, messages: 0, lost: 0, bytes: 0, posts: 0, digests: 0, pulls: 0 };
  now: number;
  private readonly queue: Event[] = [];
  private seq = 0;
  private readonly group = new Map<string, number>();
  private readonly wakes = new Map<string, number>();

  constructor(
    readonly opts: GossipSimOptions,
    start: number,
  ) {
    this.rng = seededRng(opts.seed);
    this.now = start;
    const hosts = Array.from({ length: opts.envoys }, (_, i) => `e${String(i).padStart(3, '0')}.lan`);
    const links = new Map<string, Set<string>>(hosts.map((h) => [h, new Set()]));
    for (const h of hosts) {
      // each envoy knows peersPerEnvoy others at random; knowing is mutual (both announce)
      const others = hosts.filter((x) => x !== h);
      while (links.get(h)!.size < Math.min(opts.peersPerEnvoy, others.length)) {
        const o = others[this.rng.int(others.length)]!;
        links.get(h)!.add(o);
        links.get(o)!.add(h);
      }
    }
    hosts.forEach((host, i) => {
      const envoyId = `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`;
      const peers = new ProjectPeers({ selfHost: host, ttlMs: 365 * 86_400_000 });
      const store = new MemoryGossipStore();
      const machine = new EnvelopeGossip(store, peers, () => [opts.projectId], seededRng(`${opts.seed}/${host}`), opts.gossip);
      this.nodes.push({ host, envoyId, store, peers, machine });
      this.group.set(host, 0);
    });
    for (const n of this.nodes) {
      for (const o of links.get(n.host)!) {
        const other = this.node(o);
        n.peers.observe({ kind: 'project', host: o, projectId: opts.projectId, handle: 'vigo-web', scope: 'swarm-wide' }, start);
        n.peers.observe({ kind: 'envoy', host: o, envoyId: other.envoyId, port: 1531 }, start);
      }
      // agents start at staggered moments
      this.at(start + this.rng.int(1000), () => this.handle(n, n.machine.tick(this.now)));
    }
  }

  node(host: string): GossipSimNode {
    const n = this.nodes.find((x) => x.host === host);
    if (n === undefined) throw new Error(`no envoy ${host}`);
    return n;
  }

  at(t: number, run: () => void): void {
    const q = this.queue;
    const e = { at: t, seq: this.seq++, run };
    let lo = 0;
    let hi = q.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (q[mid]!.at <= t) lo = mid + 1;
      else hi = mid;
    }
    q.splice(lo, 0, e);
  }

  runUntil(t: number): void {
    while (this.queue.length > 0 && this.queue[0]!.at <= t) {
      const e = this.queue.shift()!;
      this.now = e.at;
      this.stats.events++;
      e.run();
    }
    this.now = t;
  }

  partition(groups: string[][]): void {
    for (const n of this.nodes) this.group.set(n.host, 0);
    groups.forEach((g, i) => g.forEach((h) => this.group.set(h, i + 1)));
  }

  heal(): void {
    for (const n of this.nodes) this.group.set(n.host, 0);
  }

  private reachable(a: string, b: string): boolean {
    return this.group.get(a) === this.group.get(b);
  }

  private latency(): number {
    const [lo, hi] = this.opts.latencyMs;
    return lo + this.rng.int(hi - lo + 1);
  }

  private hop(from: string, to: string, bytes: number, deliver: () => void, onLost: () => void): void {
    this.stats.messages++;
    this.stats.bytes += bytes;
    if (!this.reachable(from, to) || this.rng.float() < this.opts.loss) {
      this.stats.lost++;
      this.at(this.now + this.opts.transportTimeoutMs, onLost);
      return;
    }
    this.at(this.now + this.latency(), deliver);
  }

  /** The reactor on `host` swept an envelope into its store. */
  sweep(host: string, kind: EnvelopeKind, env: RevokeEnvelope | LeaveEnvelope): void {
    const n = this.node(host);
    n.store.put(kind, env);
    this.handle(n, n.machine.tick(this.now));
  }

  /** A hostile envoy (not in the table) posts raw envelopes to `host`; returns the answer. */
  inject(host: string, kind: EnvelopeKind, envelopes: unknown[]) {
    const n = this.node(host);
    const r = n.machine.receive(this.now, 'mallory', this.opts.projectId, kind, envelopes, Buffer.byteLength(JSON.stringify({ v: 1, envelopes })));
    this.handle(n, n.machine.tick(this.now));
    return r;
  }

  private handle(n: GossipSimNode, step: GossipStep): void {
    for (const o of step.outputs) this.output(n, o);
    const at = step.wakeAt;
    if (at === null || at <= this.now) return;
    const cur = this.wakes.get(n.host);
    if (cur !== undefined && cur > this.now && cur <= at) return;
    this.wakes.set(n.host, at);
    this.at(at, () => {
      if (this.wakes.get(n.host) !== at) return;
      this.wakes.delete(n.host);
      this.handle(n, n.machine.tick(this.now));
    });
  }

  private hostOf(key: string): GossipSimNode {
    return this.node(key.slice(0, key.lastIndexOf(':')));
  }

  private output(n: GossipSimNode, o: GossipOutput): void {
    const t = this.hostOf(o.peer);
    const m = n.machine;
    const lost = (f: (a: { ok: false; error: string }) => GossipStep) => () => this.handle(n, f({ ok: false, error: 'unreachable' }));
    if (o.type === 'post') {
      this.stats.posts++;
      const body = encodeEnvelopePost(o.envelopes);
      const done = lost((a) => m.posted(this.now, o.requestId, a));
      this.hop(n.host, t.host, REQUEST_OVERHEAD_BYTES + gossipPath(o.projectId, 'revokes').length + body.length, () => {
        const r = t.machine.receive(this.now, n.envoyId, o.projectId, o.kind, JSON.parse(body) .envelopes as unknown[], body.length);
        this.handle(t, t.machine.tick(this.now));
        const answer = JSON.stringify(r.answer);
        this.hop(t.host, n.host, REQUEST_OVERHEAD_BYTES + answer.length, () => this.handle(n, r.status === 200 ? m.posted(this.now, o.requestId, { ok: true, value: r.answer }) : m.posted(this.now, o.requestId, { ok: false, error: r.error?.code ?? '' })), done);
      }, done);
    } else if (o.type === 'digest') {
      this.stats.digests++;
      const done = lost((a) => m.digested(this.now, o.requestId, a));
      this.hop(n.host, t.host, REQUEST_OVERHEAD_BYTES + gossipPath(o.projectId, 'digest').length, () => {
        const d = t.machine.digest(o.projectId, this.now, o.buckets);
        this.hop(t.host, n.host, REQUEST_OVERHEAD_BYTES + JSON.stringify(d).length, () => this.handle(n, m.digested(this.now, o.requestId, { ok: true, value: d })), done);
      }, done);
    } else {
      this.stats.pulls++;
      const done = lost((a) => m.pulled(this.now, o.requestId, a));
      this.hop(n.host, t.host, REQUEST_OVERHEAD_BYTES + gossipPath(o.projectId, 'all').length, () => {
        const all = t.machine.all(o.projectId, this.now, o.buckets);
        const text = JSON.stringify(all);
        this.hop(t.host, n.host, REQUEST_OVERHEAD_BYTES + text.length, () => this.handle(n, m.pulled(this.now, o.requestId, { ok: true, value: JSON.parse(text) as typeof all })), done);
      }, done);
    }
  }

  /** How many envoys hold the envelope in force. */
  holders(env: RevokeEnvelope | LeaveEnvelope): number {
    const id = envelopeId(env);
    return this.nodes.filter((n) => n.store.ids(this.opts.projectId).includes(id)).length;
  }

  converged(): boolean {
    const d = this.nodes.map((n) => n.machine.digest(this.opts.projectId, this.now).hash);
    return d.every((x) => x === d[0]);
  }

  /** Runs in steps until every envoy holds `env` (or the limit passes); the time it took, or null. */
  spreadWithin(env: RevokeEnvelope | LeaveEnvelope, limitMs: number, stepMs = 1000): number | null {
    const start = this.now;
    while (this.now - start <= limitMs) {
      if (this.holders(env) === this.nodes.length) return this.now - start;
      this.runUntil(this.now + stepMs);
    }
    return null;
  }
}
