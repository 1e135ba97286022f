/**
 * The gossip runtime: drives a bolt's RosterGossip (pure) with a timer and carries its
 * outgoing messages to peers as signed HTTPS calls (client.ts). Each round the gossip
 * names a few live peers to send its digest to; a peer whose digest differs pulls, and the
 * rows come back the same way. So an admission signed at A reaches C without C asking.
 * Sends are fire-and-forget with a cap on calls in flight: a lost message is repaired by
 * a later round, never retried here.
 */
import type { Clock } from '../platform/clock.js';
import type { Hex, Signer } from '../trust/index.js';
import { GOSSIP_PATH, peerCall, type Peer } from './client.js';
import type { GossipOutput, Outgoing, RosterGossip } from './gossip.js';

/** calls in flight at most; past it a message is dropped (the next round repairs it) */
export const MAX_IN_FLIGHT = 16;

export interface GossipRuntimeOptions {
  gossip: () => RosterGossip | null;
  signer: Signer;
  spannerId: string;
  clock: Clock;
  log: (m: string) => void;
  /** where a peer is, from the roster */
  peer: (key: Hex) => Peer | null;
}

export class GossipRuntime {
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private inFlight = 0;
  private readonly failing = new Map<Hex, number>();
  readonly counters = { sent: 0, failed: 0, dropped: 0 };

  constructor(private readonly o: GossipRuntimeOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(this.o.clock.now());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Sends what the gossip returned and re-arms the timer for its wake time. */
  dispatch(out: GossipOutput): void {
    for (const m of out.send) this.send(m);
    this.schedule(out.wakeAt);
  }

  private schedule(wakeAt: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.min(60_000, Math.max(20, wakeAt - this.o.clock.now()));
    this.timer = setTimeout(() => this.tick(), delay);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = null;
    const g = this.o.gossip();
    if (g === null) return this.schedule(this.o.clock.now() + 1000);
    try {
      this.dispatch(g.tick());
    } catch (e) {
      this.o.log(`spanner gossip: ${e instanceof Error ? e.message : String(e)}`);
      this.schedule(this.o.clock.now() + 1000);
    }
  }

  private send(m: Outgoing): void {
    const peer = this.o.peer(m.to);
    if (peer === null) return;
    if (this.inFlight >= MAX_IN_FLIGHT) {
      this.counters.dropped++;
      return;
    }
    this.inFlight++;
    const nowS = Math.floor(this.o.clock.now() / 1000);
    peerCall<{ message?: string }>(this.o.signer, this.o.spannerId, peer, 'POST', GOSSIP_PATH, m.msg, nowS)
      .then((r) => {
        if (r.status >= 200 && r.status < 300) {
          this.counters.sent++;
          if (this.failing.delete(m.to)) this.o.log(`spanner gossip: ${peer.addr} answers again`);
        } else this.failed(peer, `HTTP ${r.status}: ${r.body?.message ?? ''}`);
      })
      .catch((e: unknown) => this.failed(peer, e instanceof Error ? e.message : String(e)))
      .finally(() => this.inFlight--);
  }

  /** Logs a peer's first failure, then once a minute while it keeps failing. */
  private failed(peer: Peer, why: string): void {
    this.counters.failed++;
    const now = this.o.clock.now();
    const last = this.failing.get(peer.pubkey);
    if (last === undefined || now - last >= 60_000) {
      this.failing.set(peer.pubkey, now);
      this.o.log(`spanner gossip: sending to ${peer.addr} failed: ${why}`);
    }
  }
}
