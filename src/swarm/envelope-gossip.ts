/**
 * Envelope gossip of one envoy (issue 12 item 1; sans-I/O, SYSTEM.md §8): revokes and
 * leaves spread to every known peer of a project, and a digest reconciliation with each
 * peer every `reconcileMs` (5 minutes) catches up whoever missed a push. Inputs: the
 * envelope store (passed in), the peer table, received POSTs, the answers to what it
 * asked, and tick(now). Outputs: POSTs to send, digests and pulls to start, the next
 * wake-up. EnvelopeNode (envelope-node.ts) runs it over the swarm transport;
 * test/swarm/gossip-sim.ts runs the same code for hundreds of envoys in one process.
 *
 * Receiver rules (docs/gitback.md "Envelope gossip"), per envelope: the trust core's
 * verifyRevoke / verifyLeave — shape, the project id of the path re-checked against the
 * envelope's, not dated in the future, the signer's own chain proves it an admin of THIS
 * project (a leave: signed by its own subject, for its own leaf token) with the envoy's
 * delegation record, the signature — then the revocation set: a revoke whose signer
 * stood revoked before it was signed is refused (E_REVOKER_REVOKED). The token a revoke
 * names need not be known here (delivery is out of order, as UCAN recommends). Accepted
 * envelopes are persisted by the store (idempotent, atomic). A peer's POSTs are bounded
 * per (peer envoy, project, window) in envelopes and bytes.
 */
import type { Rng } from '../platform/clock.js';
import {
  envelopeId,
  isTrustError,
  resolveRevocations,
  verifyLeave,
  verifyRevoke,
  VerifyCache,
  type Delegation,
  type Hex,
  type LeaveEnvelope,
  type RevocationSet,
  type RevokeEnvelope,
} from '../trust/index.js';
import {
  bucketOf,
  computeDigest,
  differingBuckets,
  DIRECT_PULL_BELOW,
  MAX_POST_ENVELOPES,
  type AllAnswer,
  type DigestEntry,
  type EnvelopeDigest,
  type EnvelopeKind,
  type GossipRefusal,
  type PostAnswer,
} from '../wire/gitback-envelope-gossip.js';
import type { Peer, PeerKey, ProjectPeers } from './peers.js';
import type { Answer } from './replication.js';
import type { ProjectTrustView } from './verifier.js';

/** What the gossip reads and writes of the envoy's envelope store. */
export interface EnvelopeGossipStore {
  /** every stored envelope of pid that verifies at `nowS`, and what is in force */
  load(pid: Hex, nowS: number): { revokes: RevokeEnvelope[]; leaves: LeaveEnvelope[]; set: RevocationSet };
  /** persists a VERIFIED envelope from a peer (no local uid); a no-op when it is held */
  put(kind: EnvelopeKind, env: RevokeEnvelope | LeaveEnvelope): void;
  /** the envoy's delegation record for pid (the receiver's knownDelegations) */
  delegations(pid: Hex): Delegation[];
}

export interface EnvelopeGossipConfig {
  /** reconciliation period per (project, peer) (page: every 5 minutes) */
  reconcileMs: number;
  /** each period is drawn in reconcileMs × [1 − jitter, 1 + jitter] so peers do not reconcile in lockstep */
  jitter: number;
  /** fallback: how often the store is looked at for envelopes the reactor swept in (the agent pokes right after a sweep) */
  storePollMs: number;
  /** a failed push is retried after retryBaseMs·2^n, up to retryMaxMs, at most maxRetries times (reconciliation covers the rest) */
  retryBaseMs: number;
  retryMaxMs: number;
  maxRetries: number;
  /** flood bound: envelopes and body bytes one peer envoy may POST per project per window */
  floodWindowMs: number;
  floodMaxEnvelopes: number;
  floodMaxBytes: number;
  /** an answer not reported by then counts as a failure */
  requestTimeoutMs: number;
}

export const DEFAULT_ENVELOPE_GOSSIP_CONFIG: EnvelopeGossipConfig = {
  reconcileMs: 5 * 60_000,
  jitter: 0.1,
  storePollMs: 30_000,
  retryBaseMs: 2_000,
  retryMaxMs: 60_000,
  maxRetries: 5,
  floodWindowMs: 60_000,
  floodMaxEnvelopes: 256,
  floodMaxBytes: 2 * 1024 * 1024,
  requestTimeoutMs: 120_000,
};

/**
 * New (not held) envelopes of one pulled answer that are verified; the rest wait for the
 * next reconciliation, so a hostile peer's 8 MiB `all` costs bounded CPU per round.
 */
export const MAX_PULL_VERIFY = 1024;

/** Entries of the flood table at most (older windows are dropped first). */
export const MAX_FLOOD_ENTRIES = 16_384;

export const GOSSIP_REFUSAL_CODES = [
  /** the peer sent more than its window allows (the whole POST is refused, 429) */
  'E_GOSSIP_FLOOD',
  /** this envoy does not hold the project (404) */
  'E_GOSSIP_PROJECT_UNKNOWN',
  /** an envelope of the other kind on this route */
  'E_GOSSIP_KIND',
] as const;

export interface PostEnvelopes {
  type: 'post';
  requestId: number;
  peer: PeerKey;
  projectId: Hex;
  kind: EnvelopeKind;
  envelopes: Array<RevokeEnvelope | LeaveEnvelope>;
}

export interface GetDigest {
  type: 'digest';
  requestId: number;
  peer: PeerKey;
  projectId: Hex;
  buckets: boolean;
}

export interface PullEnvelopes {
  type: 'pull';
  requestId: number;
  peer: PeerKey;
  projectId: Hex;
  /** null: every bucket */
  buckets: number[] | null;
}

export type GossipOutput = PostEnvelopes | GetDigest | PullEnvelopes;

export interface GossipStep {
  outputs: GossipOutput[];
  /** when tick() should run next (ms), null: only on input */
  wakeAt: number | null;
}

/** What a POST answers, plus the HTTP status for the route. */
export interface GossipReceive {
  status: 200 | 404 | 429;
  answer: PostAnswer;
  error?: { code: string; message: string };
}

interface Pending {
  kind: EnvelopeKind;
  env: RevokeEnvelope | LeaveEnvelope;
  tries: number;
}

interface PeerState {
  nextReconcile: number;
  /** envelopes this peer is to be sent */
  outbox: Map<Hex, Pending>;
  retryAt: number;
  busy: boolean;
}

interface ProjectState {
  /** ids in force already seen: what is new since is pushed */
  seen: Set<Hex> | null;
  /** id → the peer it came from (not pushed back there) */
  from: Map<Hex, string>;
  peers: Map<PeerKey, PeerState>;
}

type Request = { type: 'post'; pid: Hex; peer: PeerKey; items: Array<[Hex, Pending]>; deadline: number } | { type: 'digest'; pid: Hex; peer: PeerKey; deadline: number; buckets: boolean } | { type: 'pull'; pid: Hex; peer: PeerKey; buckets: number[] | null; deadline: number };

type NoId<T> = T extends unknown ? Omit<T, 'requestId'> : never;

const sec = (ms: number): number => Math.floor(ms / 1000);

/** The envelopes in force for pid: standing revokes and verified leaves (what the digest covers and `all` serves). */
export function inForce(held: { revokes: RevokeEnvelope[]; leaves: LeaveEnvelope[]; set: RevocationSet }): Map<Hex, { kind: EnvelopeKind; env: RevokeEnvelope | LeaveEnvelope }> {
  const standing = new Set(held.set.standing);
  const out = new Map<Hex, { kind: EnvelopeKind; env: RevokeEnvelope | LeaveEnvelope }>();
  for (const r of held.revokes) {
    const id = envelopeId(r);
    if (standing.has(id)) out.set(id, { kind: 'revoke', env: r });
  }
  for (const l of held.leaves) out.set(envelopeId(l), { kind: 'leave', env: l });
  return out;
}

export class EnvelopeGossip {
  readonly config: EnvelopeGossipConfig;
  private readonly projects = new Map<Hex, ProjectState>();
  private readonly requests = new Map<number, Request>();
  private readonly flood = new Map<string, { start: number; envelopes: number; bytes: number }>();
  private nextId = 1;
  /** chains of envelopes verified once are not re-verified for every peer that forwards them */
  private readonly verifyCache = new VerifyCache(4096);
  /** what an operator looks at first: refusals by code, envelopes stored from peers */
  readonly counters = { accepted: 0, held: 0, refused: 0, flooded: 0, reconciles: 0, equal: 0, pulls: 0, posts: 0, deferred: 0 };
  readonly refusals: Record<string, number> = {};

  constructor(
    private readonly store: EnvelopeGossipStore,
    private readonly peers: ProjectPeers,
    /** the projects this envoy gossips (those it holds state or a replica of) */
    private readonly held: () => Hex[],
    private readonly rng: Rng,
    config: Partial<EnvelopeGossipConfig> = {},
  ) {
    this.config = { ...DEFAULT_ENVELOPE_GOSSIP_CONFIG, ...config };
  }

  private project(pid: Hex): ProjectState {
    let p = this.projects.get(pid);
    if (p === undefined) {
      p = { seen: null, from: new Map(), peers: new Map() };
      this.projects.set(pid, p);
    }
    return p;
  }

  private period(): number {
    const j = this.config.jitter;
    return Math.round(this.config.reconcileMs * (1 - j + 2 * j * this.rng.float()));
  }

  private peerState(p: ProjectState, key: PeerKey, now: number): PeerState {
    let s = p.peers.get(key);
    if (s === undefined) {
      // a peer first heard is reconciled with at once: it may have been away (a heal, a restart)
      s = { nextReconcile: now, outbox: new Map(), retryAt: 0, busy: false };
      p.peers.set(key, s);
    }
    return s;
  }

  /** Peers of pid this envoy can call (mTLS needs the envoy id a presence announce gave). */
  targets(pid: Hex, now: number): Peer[] {
    return this.peers.peersOf(pid, now).filter((x) => x.envoyId !== null);
  }

  /** The digest of what is in force here for pid (GET …/digest). */
  digest(pid: Hex, nowMs: number, buckets = false): EnvelopeDigest {
    return computeDigest(pid, this.entries(pid, nowMs), buckets);
  }

  private entries(pid: Hex, nowMs: number): DigestEntry[] {
    return [...inForce(this.store.load(pid, sec(nowMs)))].map(([id, e]) => ({ kind: e.kind, id }));
  }

  /** The envelopes in force here for pid, in the given buckets (GET …/all). */
  all(pid: Hex, nowMs: number, buckets: number[] | null = null): AllAnswer {
    const want = buckets === null ? null : new Set(buckets);
    const revokes: unknown[] = [];
    const leaves: unknown[] = [];
    const sorted = [...inForce(this.store.load(pid, sec(nowMs)))].sort((a, b) => (a[0] < b[0] ? -1 : 1));
    for (const [id, e] of sorted) {
      if (want !== null && !want.has(bucketOf(id))) continue;
      (e.kind === 'revoke' ? revokes : leaves).push(e.env);
    }
    return { v: 1, project_id: pid, revokes, leaves };
  }

  /** Whether this envoy takes envelopes for pid. */
  knows(pid: Hex): boolean {
    return this.held().includes(pid);
  }

  /**
   * The subjects (puddle keys) who left pid by a verified LEAVE held here: the replication
   * side drops them from what it fans out for them (their chains are refused as leaves
   * already: `left` in the revocation set).
   */
  leftSubjects(pid: Hex, nowMs: number): Set<Hex> {
    return new Set(this.store.load(pid, sec(nowMs)).leaves.map((l) => l.subject));
  }

  // --- inputs ---------------------------------------------------------------------------

  /** The reactor swept something into the store (or a test wants no wait): look now. */
  tick(now: number): GossipStep {
    const outputs: GossipOutput[] = [];
    this.expire(now);
    const pids = this.held();
    for (const pid of pids) {
      const p = this.project(pid);
      const force = inForce(this.store.load(pid, sec(now)));
      const targets = this.targets(pid, now);
      if (p.seen === null) p.seen = new Set(force.keys());
      else {
        for (const [id, e] of force) {
          if (p.seen.has(id)) continue;
          p.seen.add(id);
          // new here (swept, or stored from a peer): push it to every peer but the one it came from
          for (const t of targets) if (p.from.get(id) !== t.key && p.from.get(id) !== t.envoyId) this.peerState(p, t.key, now).outbox.set(id, { kind: e.kind, env: e.env, tries: 0 });
          p.from.delete(id); // only needed once
        }
        for (const id of p.seen) if (!force.has(id)) p.seen.delete(id);
      }
      const live = new Set(targets.map((t) => t.key));
      for (const key of [...p.peers.keys()]) if (!live.has(key) && !p.peers.get(key)!.busy) p.peers.delete(key);
      for (const t of targets) {
        const s = this.peerState(p, t.key, now);
        if (s.busy) continue;
        if (s.outbox.size > 0 && now >= s.retryAt) {
          outputs.push(...this.posts(pid, t.key, s, now));
          continue;
        }
        if (now >= s.nextReconcile) {
          s.nextReconcile = now + this.period();
          s.busy = true;
          this.counters.reconciles++;
          outputs.push(this.request({ type: 'digest', pid, peer: t.key, deadline: now + this.config.requestTimeoutMs, buckets: false }, { type: 'digest', projectId: pid, peer: t.key, buckets: false }));
        }
      }
    }
    for (const pid of [...this.projects.keys()]) if (!pids.includes(pid)) this.projects.delete(pid);
    return { outputs, wakeAt: this.wakeAt(now) };
  }

  private posts(pid: Hex, key: PeerKey, s: PeerState, now: number): GossipOutput[] {
    // one POST per kind, at most MAX_POST_ENVELOPES each; the rest go when it is answered
    const out: GossipOutput[] = [];
    for (const kind of ['revoke', 'leave'] as const) {
      if (s.busy) break;
      const items = [...s.outbox].filter(([, x]) => x.kind === kind).slice(0, MAX_POST_ENVELOPES);
      if (items.length === 0) continue;
      for (const [id] of items) s.outbox.delete(id);
      s.busy = true;
      this.counters.posts++;
      out.push(this.request({ type: 'post', pid, peer: key, items, deadline: now + this.config.requestTimeoutMs }, { type: 'post', projectId: pid, peer: key, kind, envelopes: items.map(([, x]) => x.env) }));
    }
    return out;
  }

  private request(r: Request, o: NoId<GossipOutput>): GossipOutput {
    const requestId = this.nextId++;
    this.requests.set(requestId, r);
    return { ...o, requestId } as GossipOutput;
  }

  private wakeAt(now: number): number {
    let at = now + this.config.storePollMs;
    for (const p of this.projects.values()) {
      for (const s of p.peers.values()) {
        if (s.busy) continue;
        at = Math.min(at, s.outbox.size > 0 ? Math.max(s.retryAt, now) : s.nextReconcile);
      }
    }
    for (const r of this.requests.values()) at = Math.min(at, r.deadline);
    return Math.max(at, now);
  }

  /** Requests never answered by their deadline count as failed (the transport's deadline is shorter). */
  private expire(now: number): void {
    for (const [id, r] of this.requests) if (r.deadline <= now) this.finish(now, id, false);
  }

  private finish(now: number, id: number, ok: boolean): Request | null {
    const r = this.requests.get(id);
    if (r === undefined) return null;
    this.requests.delete(id);
    const p = this.projects.get(r.pid);
    const s = p?.peers.get(r.peer);
    if (s !== undefined) {
      s.busy = false;
      if (!ok && r.type === 'post') {
        for (const [eid, x] of r.items) if (x.tries + 1 < this.config.maxRetries) s.outbox.set(eid, { ...x, tries: x.tries + 1 });
        const tries = Math.max(...r.items.map(([, x]) => x.tries));
        s.retryAt = now + Math.min(this.config.retryMaxMs, this.config.retryBaseMs * 2 ** tries);
      }
      if (ok && r.type === 'post') s.retryAt = 0;
    }
    return r;
  }

  /** A POST's answer (or its failure). */
  posted(now: number, requestId: number, a: Answer<PostAnswer>): GossipStep {
    this.finish(now, requestId, a.ok);
    return this.tick(now);
  }

  /** A digest's answer: equal → done; else pull what differs (every envelope of a small store, else by bucket). */
  digested(now: number, requestId: number, a: Answer<EnvelopeDigest>): GossipStep {
    const r = this.finish(now, requestId, a.ok);
    if (r === null || r.type !== 'digest' || !a.ok) return this.tick(now);
    const mine = this.digest(r.pid, now, r.buckets);
    if (mine.hash === a.value.hash && mine.count === a.value.count) {
      this.counters.equal++;
      return this.tick(now);
    }
    const s = this.projects.get(r.pid)?.peers.get(r.peer);
    if (s === undefined) return this.tick(now);
    s.busy = true;
    let out: GossipOutput;
    if (!r.buckets && Math.max(mine.count, a.value.count) >= DIRECT_PULL_BELOW) {
      out = this.request({ type: 'digest', pid: r.pid, peer: r.peer, deadline: now + this.config.requestTimeoutMs, buckets: true }, { type: 'digest', projectId: r.pid, peer: r.peer, buckets: true });
    } else {
      const buckets = r.buckets ? differingBuckets(mine, a.value) : null;
      this.counters.pulls++;
      out = this.request({ type: 'pull', pid: r.pid, peer: r.peer, buckets, deadline: now + this.config.requestTimeoutMs }, { type: 'pull', projectId: r.pid, peer: r.peer, buckets });
    }
    const step = this.tick(now);
    return { outputs: [out, ...step.outputs], wakeAt: step.wakeAt };
  }

  /**
   * A pull's answer: its envelopes merged under the receiver's rules (a peer's `all` is
   * untrusted input like a POST), then what this envoy holds in those buckets and the
   * peer lacks is pushed to it, so one reconciliation converges both sides.
   */
  pulled(now: number, requestId: number, a: Answer<AllAnswer>): GossipStep {
    const r = this.finish(now, requestId, a.ok);
    if (r === null || r.type !== 'pull' || !a.ok) return this.tick(now);
    const theirs = new Set<Hex>();
    const budget = { left: MAX_PULL_VERIFY };
    this.merge(now, r.pid, 'revoke', a.value.revokes, r.peer, theirs, budget);
    this.merge(now, r.pid, 'leave', a.value.leaves, r.peer, theirs, budget);
    const p = this.project(r.pid);
    const s = p.peers.get(r.peer);
    if (s !== undefined) {
      const want = r.buckets === null ? null : new Set(r.buckets);
      for (const [id, e] of inForce(this.store.load(r.pid, sec(now)))) {
        if (theirs.has(id) || (want !== null && !want.has(bucketOf(id)))) continue;
        s.outbox.set(id, { kind: e.kind, env: e.env, tries: 0 });
      }
    }
    return this.tick(now);
  }

  /**
   * A POST from the peer envoy `from` (its certificate's id) to `kind`s of pid, `bytes`
   * long. Bounded per (peer, project, window) before anything is verified.
   */
  receive(now: number, from: string, pid: Hex, kind: EnvelopeKind, envelopes: readonly unknown[], bytes: number): GossipReceive {
    const answer: PostAnswer = { v: 1, accepted: [], held: [], refused: [] };
    if (!this.knows(pid)) return this.refuse(answer, 404, 'E_GOSSIP_PROJECT_UNKNOWN', `this envoy holds no project ${pid}; nothing stored`);
    const over = this.charge(now, from, pid, envelopes.length, bytes);
    if (over !== null) return this.refuse(answer, 429, 'E_GOSSIP_FLOOD', over);
    const r = this.merge(now, pid, kind, envelopes, from, null);
    return { status: 200, answer: r };
  }

  private refuse(answer: PostAnswer, status: 404 | 429, code: string, message: string): GossipReceive {
    this.refusals[code] = (this.refusals[code] ?? 0) + 1;
    if (code === 'E_GOSSIP_FLOOD') this.counters.flooded++;
    return { status, answer, error: { code, message } };
  }

  private charge(now: number, from: string, pid: Hex, n: number, bytes: number): string | null {
    const key = `${from}\0${pid}`;
    let w = this.flood.get(key);
    if (w === undefined || now - w.start >= this.config.floodWindowMs) {
      if (this.flood.size >= MAX_FLOOD_ENTRIES) {
        for (const [k, v] of this.flood) if (now - v.start >= this.config.floodWindowMs) this.flood.delete(k);
        if (this.flood.size >= MAX_FLOOD_ENTRIES) this.flood.delete(this.flood.keys().next().value!);
      }
      w = { start: now, envelopes: 0, bytes: 0 };
      this.flood.set(key, w);
    }
    if (w.envelopes + n > this.config.floodMaxEnvelopes || w.bytes + bytes > this.config.floodMaxBytes) {
      const retry = Math.max(0, w.start + this.config.floodWindowMs - now);
      return `envoy ${from} sent more than ${this.config.floodMaxEnvelopes} envelopes or ${this.config.floodMaxBytes} bytes for project ${pid} within ${this.config.floodWindowMs} ms; nothing of this POST was read — send again in ${retry} ms`;
    }
    w.envelopes += n;
    w.bytes += bytes;
    return null;
  }

  /**
   * The receiver's rules over a batch: each verified on its own (trust core), then the
   * batch resolved with what is held so a revoke whose signer stood revoked does not get
   * in (in any arrival order), then persisted. `theirs` collects the ids seen.
   */
  private merge(now: number, pid: Hex, kind: EnvelopeKind, envelopes: readonly unknown[], from: string, theirs: Set<Hex> | null, budget = { left: Infinity }): PostAnswer {
    const answer: PostAnswer = { v: 1, accepted: [], held: [], refused: [] };
    const nowS = sec(now);
    const known = this.store.delegations(pid);
    const opts = { cache: this.verifyCache, ...(known.length > 0 ? { knownDelegations: known } : {}) };
    const held = this.store.load(pid, nowS);
    const force = inForce(held);
    const fresh: Array<[Hex, RevokeEnvelope | LeaveEnvelope]> = [];
    for (const raw of envelopes) {
      let env: RevokeEnvelope | LeaveEnvelope;
      try {
        const k = (raw as { kind?: unknown } | null)?.kind;
        if (k !== kind) {
          this.refusal(answer, idOfRaw(raw), 'E_GOSSIP_KIND', `expected a ${kind} envelope on this route, got kind ${JSON.stringify(String(k).slice(0, 20))}`);
          continue;
        }
        // the same envelope, signature and all, as one in force here: nothing to verify or store
        const same = force.get(idOfRaw(raw));
        if (same !== undefined && same.env.sig === (raw as { sig?: unknown }).sig && same.kind === kind && (raw as { project_id?: unknown }).project_id === pid) {
          theirs?.add(envelopeId(same.env));
          answer.held.push(envelopeId(same.env));
          this.counters.held++;
          continue;
        }
        if (budget.left <= 0) {
          this.counters.deferred++;
          continue;
        }
        budget.left--;
        env = kind === 'revoke' ? verifyRevoke(raw, pid, nowS, opts) : verifyLeave(raw, pid, nowS, opts);
      } catch (e) {
        if (!isTrustError(e)) throw e;
        this.refusal(answer, idOfRaw(raw), e.code, e.message);
        continue;
      }
      const id = envelopeId(env);
      theirs?.add(id);
      if (force.has(id)) {
        answer.held.push(id);
        this.counters.held++;
      } else if (!fresh.some(([x]) => x === id)) fresh.push([id, env]);
    }
    if (fresh.length > 0) {
      const revokes = [...held.revokes, ...fresh.filter(([, e]) => e.kind === 'revoke').map(([, e]) => e as RevokeEnvelope)];
      const leaves = [...held.leaves, ...fresh.filter(([, e]) => e.kind === 'leave').map(([, e]) => e as LeaveEnvelope)];
      const set = resolveRevocations(revokes, leaves);
      const standing = new Set(set.standing);
      const p = this.project(pid);
      for (const [id, env] of fresh) {
        if (env.kind === 'revoke' && !standing.has(id)) {
          const why = set.refused.find((x) => x.id === id);
          this.refusal(answer, id, 'E_REVOKER_REVOKED', why?.message ?? `revoke ${id} does not stand`);
          continue;
        }
        this.store.put(env.kind, env);
        p.from.set(id, from);
        answer.accepted.push(id);
        this.counters.accepted++;
      }
    }
    return answer;
  }

  private refusal(answer: PostAnswer, id: string, code: string, message: string): void {
    answer.refused.push({ id, code, message } satisfies GossipRefusal);
    this.refusals[code] = (this.refusals[code] ?? 0) + 1;
    this.counters.refused++;
  }
}

function idOfRaw(raw: unknown): string {
  try {
    return envelopeId(raw as RevokeEnvelope);
  } catch {
    return 'not-an-envelope';
  }
}

/**
 * This envoy's trust view of pid from its envelope store, for SwarmNode's `trustView`: what
 * is in force (gitback's gossipEnvelopeStore names each revocation's envelope id in its
 * reason, so a refused bundle or push says which revocation to look up).
 */
export function gossipTrustView(store: EnvelopeGossipStore, pid: Hex, nowMs: number): ProjectTrustView {
  const set = store.load(pid, sec(nowMs)).set;
  const known = store.delegations(pid);
  return { revocations: { revoked: set.revoked, revokedAt: set.revokedAt, left: set.left }, ...(known.length > 0 ? { knownDelegations: known } : {}) };
}
