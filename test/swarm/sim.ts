// A deterministic network simulator for the replication machine (after radicle-heartwood's
// simulator: the protocol does no I/O, so one process can play every envoy). Every envoy
// runs the real ReplicationMachine, ProjectPeers, MemoryReplicaStore and manifest verifier;
// only the network is simulated: a seeded Rng draws latency and loss, partitions drop
// whatever crosses them, and a request whose answer is lost reports a failure after the
// transport's deadline — as the mTLS client would. Refs are abstract commits (CommitGraph).
import { seededRng, type Rng } from '../../src/platform/clock.js';
import type { Hex, Scope } from '../../src/trust/index.js';
import { tipsOf, type ReceiveResult, type ReplicationOutput, type ServeResult, type SignedUpdate, type Step, type Tips } from '../../src/swarm/index.js';
import { sign } from './fixtures.js';
import { CommitGraph, makeEnvoy, update, type Envoy } from './harness.js';

export interface SimOptions {
  seed: number;
  envoys: number;
  projectId: Hex;
  scope: Scope;
  /** chains (X-Vigo-Chain) by pusher name */
  chains: Record<string, string>;
  latencyMs: [number, number];
  loss: number;
  announceMs: number;
  tickMs: number;
  /** how long a lost request takes to be reported as failed */
  transportTimeoutMs: number;
  /** which envoys have a local user holding the project (the others are gitback envoys only) */
  member: (index: number) => boolean;
}

interface Event {
  at: number;
  seq: number;
  run: () => void | Promise<void>;
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export interface SimStats {
  events: number;
  messages: number;
  lost: number;
  refusedReplays: number;
  /** the attacker's replays: refused, accepted as no-ops (already held), or moving a ref forward (the target had missed it) */
  attacks: number;
  attackRefused: number;
  attackNoop: number;
  attackForward: number;
  backwardMoves: number;
  sends: number;
  fetches: number;
}

export class Sim {
  readonly rng: Rng;
  readonly graph = new CommitGraph();
  readonly nodes: Envoy[] = [];
  readonly stats: SimStats = { events: 0, messages: 0, lost: 0, refusedReplays: 0, attacks: 0, attackRefused: 0, attackNoop: 0, attackForward: 0, backwardMoves: 0, sends: 0, fetches: 0 };
  /** everything any envoy was ever sent: what a replaying attacker has seen */
  readonly seen: SignedUpdate[] = [];
  now: number;
  private readonly queue: Event[] = [];
  private seq = 0;
  private group = new Map<string, number>(); // host → partition group (all 0: healed)
  private readonly down = new Set<string>();
  private readonly envoyIds: string[] = [];
  private readonly seqs = new Map<string, number>();
  private readonly wakes = new Map<string, number>();
  private commits = 0;

  constructor(
    readonly opts: SimOptions,
    start: number,
  ) {
    this.rng = seededRng(opts.seed);
    this.now = start;
    for (let i = 0; i < opts.envoys; i++) {
      const host = `e${String(i).padStart(2, '0')}.lan`;
      const node = makeEnvoy(host, this.graph, {
        rng: seededRng(`${opts.seed}/${host}`),
        config: { tickMs: opts.tickMs, retryBaseMs: 2000, retryMaxMs: 60_000, requestTimeoutMs: 4 * opts.transportTimeoutMs },
        ttlMs: 3 * opts.announceMs,
        member: opts.member(i) ? [[opts.projectId, opts.scope]] : [],
      });
      this.nodes.push(node);
      this.envoyIds.push(`${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`);
      this.group.set(host, 0);
      // Announce and tick at staggered phases so no two envoys move in lockstep.
      this.at(start + this.rng.int(opts.announceMs), () => this.announce(node));
      this.at(start + this.rng.int(opts.tickMs), () => this.tick(node));
    }
  }

  node(host: string): Envoy {
    const n = this.nodes.find((x) => x.host === host);
    if (n === undefined) throw new Error(`no envoy ${host}`);
    return n;
  }

  /** Schedules `run` at time t; events at the same time run in the order they were scheduled. */
  at(t: number, run: () => void | Promise<void>): void {
    const q = this.queue;
    q.push({ at: t, seq: this.seq++, run });
    for (let i = q.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!before(q[i]!, q[p]!)) break;
      [q[i], q[p]] = [q[p]!, q[i]!];
      i = p;
    }
  }

  private pop(): Event {
    const q = this.queue;
    const top = q[0]!;
    const last = q.pop()!;
    if (q.length > 0) {
      q[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < q.length && before(q[l]!, q[m]!)) m = l;
        if (r < q.length && before(q[r]!, q[m]!)) m = r;
        if (m === i) break;
        [q[i], q[m]] = [q[m]!, q[i]!];
        i = m;
      }
    }
    return top;
  }

  async runUntil(t: number): Promise<void> {
    while (this.queue.length > 0 && this.queue[0]!.at <= t) {
      const e = this.pop();
      this.now = e.at;
      this.stats.events++;
      await e.run();
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
    return this.group.get(a) === this.group.get(b) && !this.down.has(a) && !this.down.has(b);
  }

  /** The envoy's agent dies: it answers nothing, ticks and announces nothing, and forgets what was in flight. */
  kill(host: string): void {
    this.down.add(host);
  }

  /** The agent starts again on the same store, with an empty peer table and a fresh machine. */
  restart(host: string): void {
    const node = this.node(host);
    this.down.delete(host);
    node.restart();
    this.wakes.delete(host);
    this.handle(node, node.machine.tick(this.now));
  }

  private latency(): number {
    const [lo, hi] = this.opts.latencyMs;
    return lo + this.rng.int(hi - lo + 1);
  }

  /** One hop: delivered after a latency, or lost (loss, partition) — then `onLost` after the transport's deadline. */
  private hop(from: string, to: string, deliver: () => void, onLost: () => void): void {
    this.stats.messages++;
    if (!this.reachable(from, to) || this.rng.float() < this.opts.loss) {
      this.stats.lost++;
      this.at(this.now + this.opts.transportTimeoutMs, onLost);
      return;
    }
    this.at(this.now + this.latency(), () => {
      if (!this.down.has(to)) return deliver();
      this.stats.lost++;
      this.at(this.now + this.opts.transportTimeoutMs, onLost);
    });
  }

  private announce(node: Envoy): void {
    if (this.down.has(node.host)) {
      this.at(this.now + this.opts.announceMs, () => this.announce(node));
      return;
    }
    const held = node.store.refs(this.opts.projectId).size > 0;
    for (const other of this.nodes) {
      if (other === node || !this.reachable(node.host, other.host) || this.rng.float() < this.opts.loss) continue;
      const id = this.envoyIds[this.nodes.indexOf(node)]!;
      this.at(this.now + this.latency(), () => {
        other.peers.observe({ kind: 'envoy', host: node.host, envoyId: id, port: 1531 }, this.now);
        if (held) other.peers.observe({ kind: 'project', host: node.host, projectId: this.opts.projectId, handle: 'vigo-web', scope: this.opts.scope }, this.now);
      });
    }
    this.at(this.now + this.opts.announceMs, () => this.announce(node));
  }

  private tick(node: Envoy): void {
    if (!this.down.has(node.host)) this.handle(node, node.machine.tick(this.now));
    this.at(this.now + this.opts.tickMs, () => this.tick(node));
  }

  private wake(node: Envoy, wakeAt: number | null): void {
    if (wakeAt === null || wakeAt <= this.now) return;
    const cur = this.wakes.get(node.host);
    if (cur !== undefined && cur > this.now && cur <= wakeAt) return;
    this.wakes.set(node.host, wakeAt);
    this.at(wakeAt, () => {
      if (this.wakes.get(node.host) !== wakeAt || this.down.has(node.host)) return;
      this.wakes.delete(node.host);
      this.handle(node, node.machine.tick(this.now));
    });
  }

  private handle(node: Envoy, step: Step, machine = node.machine): void {
    if (machine !== node.machine || this.down.has(node.host)) return; // a dead process's answers go nowhere
    for (const o of step.outputs) this.output(node, o);
    this.wake(node, step.wakeAt);
  }

  private hostOf(peerKey: string): Envoy {
    return this.node(peerKey.slice(0, peerKey.lastIndexOf(':')));
  }

  private output(node: Envoy, o: ReplicationOutput): void {
    const target = this.hostOf(o.peer);
    const m = node.machine; // answers go to the process that asked, even if the envoy restarted since
    if (o.type === 'send') {
      this.stats.sends++;
      const bundle = o.exact ? o.updates[0]!.manifest.bundle_sha256 : null;
      this.hop(
        node.host,
        target.host,
        () => {
          const r = this.receive(target, o.projectId, o.updates, bundle);
          this.hop(target.host, node.host, () => this.handle(node, m.sent(this.now, o.requestId, { ok: true, value: r }), m), () => this.handle(node, m.sent(this.now, o.requestId, { ok: false, error: 'answer lost' }), m));
        },
        () => this.handle(node, m.sent(this.now, o.requestId, { ok: false, error: 'unreachable' }), m),
      );
    } else {
      this.stats.fetches++;
      this.hop(
        node.host,
        target.host,
        () => {
          const served: ServeResult = target.machine.serve(o.projectId, o.have);
          this.hop(
            target.host,
            node.host,
            () => {
              if (m !== node.machine || this.down.has(node.host)) return;
              const before = tipsOf(node.store.refs(o.projectId));
              this.seen.push(...served.updates);
              this.handle(node, m.fetched(this.now, o.requestId, { ok: true, value: served }), m);
              this.checkForward(node, o.projectId, before);
            },
            () => this.handle(node, m.fetched(this.now, o.requestId, { ok: false, error: 'answer lost' }), m),
          );
        },
        () => this.handle(node, m.fetched(this.now, o.requestId, { ok: false, error: 'unreachable' }), m),
      );
    }
  }

  /** A receive, watched: no ref may ever move to a tip that is not a descendant of the one before. */
  receive(target: Envoy, projectId: Hex, updates: readonly SignedUpdate[], bundle: Hex | null): ReceiveResult {
    this.seen.push(...updates);
    const before = tipsOf(target.store.refs(projectId));
    const r = target.machine.receive(this.now, projectId, updates, bundle);
    if (r.code === 'E_MANIFEST_REPLAY' || r.code === 'E_MANIFEST_ROLLBACK') this.stats.refusedReplays++;
    this.checkForward(target, projectId, before);
    return r;
  }

  private checkForward(node: Envoy, projectId: Hex, before: Tips): void {
    const after = tipsOf(node.store.refs(projectId));
    for (const [ref, tip] of Object.entries(before)) {
      const now = after[ref];
      if (now !== undefined && now !== tip && !this.graph.isAncestor(tip, now)) this.stats.backwardMoves++;
    }
  }

  /** A user pushes one new commit to `branch` on `host` (a fast-forward of that envoy's tip). */
  async push(host: string, pusher: string, branch: string): Promise<void> {
    const node = this.node(host);
    const ref = `refs/heads/${branch}`;
    const old = tipsOf(node.store.refs(this.opts.projectId))[ref] ?? null;
    const c = this.graph.commit(`${this.opts.seed}/commit/${this.commits++}`, old === null ? [] : [old]);
    const envoy = this.envoyIds[this.nodes.indexOf(node)]!;
    const stream = `${pusher}/${envoy}`;
    const seq = (this.seqs.get(stream) ?? 0) + 1;
    this.seqs.set(stream, seq);
    const m = await sign(this.opts.projectId, pusher, seq, [{ ref, old, new: c }], { envoy, scope: this.opts.scope });
    this.handle(node, node.machine.localPush(this.now, update(m, this.opts.chains[pusher]!)));
  }

  /** An attacker that has seen every bundle replays an old one to `host`, as a push and as a relay. */
  replay(host: string, which: number): void {
    if (this.seen.length === 0) return;
    const u = this.seen[which % this.seen.length]!;
    const target = this.node(host);
    for (const bundle of [u.manifest.bundle_sha256, null]) {
      this.stats.attacks++;
      const r = this.receive(target, this.opts.projectId, [u], bundle);
      if (!r.accepted) this.stats.attackRefused++;
      else if (r.refsChanged.length === 0) this.stats.attackNoop++;
      else this.stats.attackForward++;
    }
  }

  tips(): Tips[] {
    return this.nodes.map((n) => tipsOf(n.store.refs(this.opts.projectId)));
  }

  converged(): boolean {
    const all = this.tips().map((t) => JSON.stringify(t));
    return all.every((t) => t === all[0]);
  }

  /** Runs in steps until every envoy holds the same refs; returns the time that took, or null. */
  async convergeWithin(limitMs: number, stepMs = 1000): Promise<number | null> {
    const start = this.now;
    while (this.now - start <= limitMs) {
      if (this.converged()) return this.now - start;
      await this.runUntil(this.now + stepMs);
    }
    return null;
  }
}
