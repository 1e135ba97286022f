/**
 * Roster gossip between bolts, as a sans-I/O state machine (docs/spanner.md "Gossip").
 * The runtime (or the simulator) feeds it received messages and calls tick(); it answers
 * with messages to send and when to be woken next. Clock, randomness and the store are
 * passed in. Peers are named by their bolt pubkey; the runtime authenticates `from` (mTLS
 * with the pinned bolt key) and maps a pubkey to the peer_addr in the roster.
 *
 * Each round a bolt sends its digest (≈200 bytes) to `fanout` random live peers. A peer
 * whose digest differs answers with a pull carrying its 256 bucket hashes; the first sends
 * the rows of the buckets that differ and its own bucket hashes; the peer merges them and
 * answers, once, with the rows the first still lacks. A merge that changes the roster
 * sends the new digest to `fanout` random peers at once, so news travels several hops in
 * a round instead of one.
 */
import type { Clock, Rng } from '../platform/clock.js';
import { CLOCK_SKEW_S, sha256Hex, type Hex } from '../trust/index.js';
import {
  ADMIT_KIND,
  BUCKET_HASH_LEN,
  REVOKE_KIND,
  DIGEST_BUCKETS,
  gossipMessageBytes,
  MAX_GOSSIP_MESSAGE_BYTES,
  MAX_ROWS_PER_MESSAGE,
  parseGossipMessage,
  RosterError,
  rowTime,
  type GossipMessage,
  type RosterContext,
  type RosterRow,
} from '../wire/spanner-roster.js';
import { emptyRoster, isBoltLive, liveBolts, mergeRows, type MergeResult, type RosterState } from './roster.js';
import type { RosterStore } from './store.js';

export const DEFAULT_FANOUT = 3;
export const DEFAULT_ROUND_MS = 1000;
/** Room kept in a rows message for everything but the rows. */
const ROWS_MESSAGE_OVERHEAD = DIGEST_BUCKETS * BUCKET_HASH_LEN + 512;

export interface GossipOptions {
  /** this bolt's pubkey (64 hex) */
  self: Hex;
  ctx: RosterContext;
  clock: Clock;
  rng: Rng;
  store: RosterStore;
  fanout?: number;
  roundMs?: number;
  /**
   * A roster this process already merged, holding exactly the store's rows (the simulator
   * starts its bolts from one). Without it, the store's rows are loaded and verified.
   */
  state?: RosterState;
}

export interface Outgoing {
  to: Hex;
  msg: GossipMessage;
}

export interface GossipOutput {
  send: Outgoing[];
  /** ms since the epoch: call tick() then, or earlier */
  wakeAt: number;
}

export interface GossipCounters {
  rounds: number;
  received: number;
  /** messages dropped: malformed, oversized, another spanner, or from a key not live in our roster */
  ignored: number;
  merges: number;
  /** received rows dated more than CLOCK_SKEW_S ahead of our clock, not merged */
  futureRows: number;
}

const EMPTY_BUCKET = '0'.repeat(BUCKET_HASH_LEN);

export class RosterGossip {
  private state: RosterState;
  private readonly self: Hex;
  private readonly ctx: RosterContext;
  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly store: RosterStore;
  private readonly fanout: number;
  private readonly roundMs: number;
  private nextRoundAt: number;
  /** a changed roster waits to be announced until this time (ms), or null */
  private announceAt: number | null = null;
  private lastAnnounceAt = -Infinity;
  /** no new pull is sent before this time (ms): one pull in flight at a time */
  private pullQuietUntil = -Infinity;
  private peerCache: { digest: Hex; at: number; peers: Hex[] } | null = null;
  private bucketCache: { digest: Hex; buckets: string; rows: [Hex, RosterRow][][] } | null = null;
  private readonly heard = new Map<Hex, number>();
  readonly counters: GossipCounters = { rounds: 0, received: 0, ignored: 0, merges: 0, futureRows: 0 };

  constructor(opts: GossipOptions) {
    this.self = opts.self;
    this.ctx = opts.ctx;
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.store = opts.store;
    this.fanout = opts.fanout ?? DEFAULT_FANOUT;
    this.roundMs = opts.roundMs ?? DEFAULT_ROUND_MS;
    if (!Number.isSafeInteger(this.fanout) || this.fanout < 1) throw new RangeError(`RosterGossip: fanout ${this.fanout} must be a positive integer`);
    if (!(this.roundMs > 0)) throw new RangeError(`RosterGossip: roundMs ${this.roundMs} must be positive`);
    this.state = opts.state ?? mergeRows(emptyRoster(), this.store.rows(), this.ctx).state;
    // A random phase, so bolts started together do not gossip in lockstep.
    this.nextRoundAt = this.clock.now() + this.rng.int(Math.max(1, Math.floor(this.roundMs)));
  }

  get roster(): RosterState {
    return this.state;
  }

  /** When each peer was last heard from (ms): the cheap liveness signal for status pages. */
  lastHeard(): ReadonlyMap<Hex, number> {
    return this.heard;
  }

  /** Rows signed here (init, admit, revoke, invite consumed) or received by a join: merged, stored, announced. */
  addRows(rows: readonly unknown[]): MergeResult & GossipOutput {
    const before = this.state.digest;
    const r = this.merge(rows);
    const send = r.state.digest !== before ? this.changed(null) : [];
    return { ...r, send, wakeAt: this.wakeAt() };
  }

  tick(): GossipOutput {
    const now = this.clock.now();
    const send: Outgoing[] = [];
    if (now >= this.nextRoundAt) {
      this.counters.rounds++;
      send.push(...this.announce(null));
      while (this.nextRoundAt <= now) this.nextRoundAt += this.roundMs;
    } else if (this.announceAt !== null && now >= this.announceAt) send.push(...this.announce(null));
    return { send, wakeAt: this.wakeAt() };
  }

  private wakeAt(): number {
    return this.announceAt === null ? this.nextRoundAt : Math.min(this.announceAt, this.nextRoundAt);
  }

  /**
   * The roster changed: tell `fanout` peers now, or, when we told some less than an eighth
   * of a round ago, at the eighth (one announcement then covers every change meanwhile).
   */
  private changed(except: Hex | null): Outgoing[] {
    const now = this.clock.now();
    const gap = this.roundMs / 8;
    if (now - this.lastAnnounceAt >= gap) return this.announce(except);
    this.announceAt ??= this.lastAnnounceAt + gap;
    return [];
  }

  /** A message from peer `from` (its pubkey, as the transport authenticated it). `bytes`: its size on the wire. */
  onMessage(from: Hex, raw: unknown, bytes?: number): GossipOutput {
    const out: GossipOutput = { send: [], wakeAt: this.wakeAt() };
    this.counters.received++;
    let msg: GossipMessage;
    try {
      msg = parseGossipMessage(raw, bytes ?? Buffer.byteLength(JSON.stringify(raw) ?? '', 'utf8'));
    } catch (e) {
      if (e instanceof RosterError) {
        this.counters.ignored++;
        return out;
      }
      throw e;
    }
    const nowS = Math.floor(this.clock.now() / 1000);
    if (msg.spanner_id !== this.ctx.spannerId || from === this.self || !isBoltLive(this.state, from, nowS)) {
      this.counters.ignored++;
      return out;
    }
    this.heard.set(from, this.clock.now());
    const mine = this.state.digest;
    switch (msg.t) {
      case 'digest':
        // One pull at a time: a digest arriving while one is out is dropped; later rounds bring it again.
        if (msg.digest !== mine && this.clock.now() >= this.pullQuietUntil) {
          this.pullQuietUntil = this.clock.now() + this.roundMs / 5;
          out.send.push({ to: from, msg: { v: 1, t: 'pull', spanner_id: this.ctx.spannerId, digest: mine, buckets: this.buckets().buckets } });
        }
        break;
      case 'pull':
        if (msg.digest !== mine) out.send.push({ to: from, msg: this.rowsFor(msg.buckets, true) });
        break;
      case 'rows': {
        const before = this.state.digest;
        const rows = msg.rows.filter((r) => !this.fromTheFuture(r));
        if (rows.length > 0) this.merge(rows);
        const now = this.state.digest;
        if (msg.buckets !== null && now !== msg.digest) out.send.push({ to: from, msg: this.rowsFor(msg.buckets, false) });
        if (msg.buckets !== null) this.pullQuietUntil = -Infinity; // our pull is answered
        if (msg.more) {
          this.pullQuietUntil = this.clock.now() + this.roundMs / 5;
          out.send.push({ to: from, msg: { v: 1, t: 'pull', spanner_id: this.ctx.spannerId, digest: now, buckets: this.buckets().buckets } });
        }
        if (now !== before) out.send.push(...this.changed(from));
        out.wakeAt = this.wakeAt();
        break;
      }
    }
    return out;
  }

  private merge(rows: readonly unknown[]): MergeResult {
    const r = mergeRows(this.state, rows, this.ctx);
    if (r.state !== this.state) {
      this.counters.merges++;
      const fresh = [...r.state.held].filter(([id]) => !this.state.held.has(id));
      this.store.add(
        fresh.map(([, row]) => row),
        fresh.map(([id]) => id),
      );
      this.state = r.state;
    }
    return r;
  }

  /**
   * A received row dated more than CLOCK_SKEW_S (the trust core's 300 s) ahead of our clock
   * is not merged yet: the merge itself never reads a clock, so this is where a post-dated
   * row is held off. A peer offers it again once our clock has caught up.
   */
  private fromTheFuture(row: unknown): boolean {
    if (typeof row !== 'object' || row === null) return false;
    const r = row as Record<string, unknown>;
    const t = r.kind === ADMIT_KIND ? r.admitted_at : r.kind === REVOKE_KIND ? r.revoked_at : r.consumed_at;
    if (typeof t !== 'number' || t <= this.clock.now() / 1000 + CLOCK_SKEW_S) return false;
    this.counters.futureRows++;
    return true;
  }

  /** Our digest to `fanout` random live peers (not `except`). */
  private announce(except: Hex | null): Outgoing[] {
    this.lastAnnounceAt = this.clock.now();
    this.announceAt = null;
    const peers = this.livePeers().filter((k) => k !== except);
    const msg: GossipMessage = { v: 1, t: 'digest', spanner_id: this.ctx.spannerId, digest: this.state.digest, rows: this.state.held.size };
    const out: Outgoing[] = [];
    // A partial Fisher-Yates shuffle: `fanout` distinct peers, uniformly.
    for (let i = 0; i < Math.min(this.fanout, peers.length); i++) {
      const j = i + this.rng.int(peers.length - i);
      [peers[i], peers[j]] = [peers[j]!, peers[i]!];
      out.push({ to: peers[i]!, msg });
    }
    return out;
  }

  /** Live bolts but this one, cached per roster and second. */
  private livePeers(): Hex[] {
    const at = Math.floor(this.clock.now() / 1000);
    const c = this.peerCache;
    if (c !== null && c.digest === this.state.digest && c.at === at) return [...c.peers];
    const peers = liveBolts(this.state, at)
      .map((b) => b.pubkey)
      .filter((k) => k !== this.self);
    this.peerCache = { digest: this.state.digest, at, peers };
    return [...peers];
  }

  /** Held rows grouped by the first byte of their id, and the 256 bucket hashes (cached per digest). */
  private buckets(): { buckets: string; rows: [Hex, RosterRow][][] } {
    if (this.bucketCache?.digest === this.state.digest) return this.bucketCache;
    const rows: [Hex, RosterRow][][] = Array.from({ length: DIGEST_BUCKETS }, () => []);
    for (const e of this.state.held) rows[parseInt(e[0].slice(0, 2), 16)]!.push(e);
    let buckets = '';
    for (const list of rows) {
      buckets += list.length === 0 ? EMPTY_BUCKET : sha256Hex(list.map(([id]) => id).sort().join('\n')).slice(0, BUCKET_HASH_LEN);
    }
    this.bucketCache = { digest: this.state.digest, buckets, rows };
    return this.bucketCache;
  }

  /** A rows message with our rows in the buckets where `theirs` differs, oldest first, filled up to the size bound. */
  private rowsFor(theirs: string, askBack: boolean): GossipMessage {
    const mine = this.buckets();
    const differing: [Hex, RosterRow][] = [];
    for (let b = 0; b < DIGEST_BUCKETS; b++) {
      const at = b * BUCKET_HASH_LEN;
      if (mine.buckets.slice(at, at + BUCKET_HASH_LEN) !== theirs.slice(at, at + BUCKET_HASH_LEN)) differing.push(...mine.rows[b]!);
    }
    // Oldest first, so a receiver gets an admission before the rows its subject signed.
    differing.sort(([ia, a], [ib, b]) => rowTime(a) - rowTime(b) || (ia < ib ? -1 : ia > ib ? 1 : 0));
    const rows: RosterRow[] = [];
    let size = ROWS_MESSAGE_OVERHEAD;
    let more = false;
    for (const [, r] of differing) {
      const n = Buffer.byteLength(JSON.stringify(r), 'utf8') + 1;
      if (size + n > MAX_GOSSIP_MESSAGE_BYTES || rows.length === MAX_ROWS_PER_MESSAGE) {
        more = true;
        break;
      }
      size += n;
      rows.push(r);
    }
    const msg: GossipMessage = { v: 1, t: 'rows', spanner_id: this.ctx.spannerId, digest: this.state.digest, buckets: askBack ? mine.buckets : null, more, rows };
    if (gossipMessageBytes(msg) > MAX_GOSSIP_MESSAGE_BYTES) throw new Error('RosterGossip: a rows message outgrew its bound (overhead estimate too small)');
    return msg;
  }
}
