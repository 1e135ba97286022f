/**
 * The runtime of envelope gossip (issue 12 item 1): the pure EnvelopeGossip driven with real
 * time over the swarm transport. It attaches four routes to a SwarmTransport — SwarmNode's
 * (`node.transport`) when it runs next to replication, or one of its own — and calls peers
 * with swarmCall under a deadline. The peer of an inbound call is its certificate's envoy
 * id; outbound calls go to the envoy id the peer table names, and mTLS proves it.
 *
 *   POST /swarm/gitback/envelopes/<pid>/revokes | leaves   (body ≤ MAX_POST_BYTES)
 *   GET  /swarm/gitback/envelopes/<pid>/digest[?buckets=1]
 *   GET  /swarm/gitback/envelopes/<pid>/all[?buckets=…]
 *
 * Start it after the transport's routes are set and before or after it listens; call
 * `poke()` when the reactor has swept envelopes into the store — the agent does, through
 * SwarmService.envelopesSwept — (it also looks every `storePollMs`, 30 s, as a fallback).
 */
import type { Clock, Rng } from '../platform/clock.js';
import { VigoError } from '../platform/errors.js';
import { isHex64, type Hex } from '../trust/index.js';
import {
  bucketQuery,
  encodeEnvelopePost,
  gossipPath,
  GossipWireError,
  MAX_ALL_BYTES,
  MAX_DIGEST_BYTES,
  MAX_POST_BYTES,
  parseAllAnswer,
  parseBucketQuery,
  parseDigest,
  parseEnvelopePost,
  parsePostAnswer,
  type EnvelopeKind,
} from '../wire/gitback-envelope-gossip.js';
import { StepRunner } from './step-runner.js';
import { EnvelopeGossip, type EnvelopeGossipConfig, type EnvelopeGossipStore, type GossipOutput, type GossipStep } from './envelope-gossip.js';
import type { Peer, ProjectPeers } from './peers.js';
import type { Answer } from './replication.js';
import { SwarmError, type SwarmIdentity, type SwarmPeer, type SwarmRequest, type SwarmResponse, type SwarmTransport } from './transport.js';
import { swarmCall, type SwarmReply } from './transport-client.js';

export const DEFAULT_GOSSIP_CALL_DEADLINE_MS = 30_000;

export interface EnvelopeNodeOptions {
  /** the transport to attach the routes to (SwarmNode's `transport`, or one of its own) */
  transport: SwarmTransport;
  /** this envoy's enrollment material, presented on outgoing calls */
  identity: SwarmIdentity;
  /** the envoy's envelope store (gitback's gossipEnvelopeStore) */
  store: EnvelopeGossipStore;
  peers: ProjectPeers;
  /** the projects this envoy gossips (e.g. `node.store.projects()` and its local users' projects) */
  projects: () => Hex[];
  clock: Clock;
  rng: Rng;
  gossip?: Partial<EnvelopeGossipConfig>;
  /** deadline of each outgoing call */
  callDeadlineMs?: number;
  /** time limit of each inbound request */
  requestTimeoutMs?: number;
  /** source address of outgoing calls */
  localAddress?: string;
  log?: (line: string) => void;
}

export class EnvelopeNode {
  readonly machine: EnvelopeGossip;
  /** bytes of gossip bodies sent and received (what gossip costs on the wire) */
  readonly bytes = { sent: 0, received: 0 };
  private readonly steps: StepRunner<GossipOutput>;
  private closed = true;
  private readonly log: (line: string) => void;

  constructor(private readonly o: EnvelopeNodeOptions) {
    this.log = o.log ?? (() => {});
    this.steps = new StepRunner<GossipOutput>({
      clock: o.clock,
      perform: (out) => this.perform(out),
      onError: (e) => this.log(`envelope gossip: ${e instanceof Error ? e.message : String(e)}`),
      wake: () => this.poke(),
    });
    this.machine = new EnvelopeGossip(o.store, o.peers, o.projects, o.rng, o.gossip);
    const t = o.requestTimeoutMs ?? 30_000;
    const base = '/swarm/gitback/envelopes/:pid';
    o.transport.route('POST', `${base}/revokes`, (p, r) => this.onPost(p, r, 'revoke'), { bodyLimitBytes: MAX_POST_BYTES, requestTimeoutMs: t });
    o.transport.route('POST', `${base}/leaves`, (p, r) => this.onPost(p, r, 'leave'), { bodyLimitBytes: MAX_POST_BYTES, requestTimeoutMs: t });
    o.transport.route('GET', `${base}/digest`, (p, r) => this.onDigest(p, r), { requestTimeoutMs: t });
    o.transport.route('GET', `${base}/all`, (p, r) => this.onAll(p, r), { requestTimeoutMs: t });
  }

  /** Starts the loop (the transport listens on its own: SwarmNode.start(), or transport.listen()). */
  start(): void {
    this.closed = false;
    this.poke();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.steps.cancel();
    await this.steps.settled();
  }

  /** Look at the store now (the reactor swept envelopes in, a test wants no wait). */
  poke(): void {
    if (!this.closed) this.run(this.machine.tick(this.o.clock.now()));
  }

  private run(step: GossipStep): void {
    if (!this.closed) this.steps.run(step);
  }

  private peer(projectId: Hex, key: string): Peer {
    const p = this.machine.targets(projectId, this.o.clock.now()).find((x) => x.key === key);
    if (p === undefined) throw new VigoError('E_SWARM_PEER_UNKNOWN', `peer ${key} is no longer announced for ${projectId}; it is tried again once it is`);
    return p;
  }

  private call(peer: Peer, method: 'GET' | 'POST', path: string, max: number, body?: string): Promise<SwarmReply> {
    if (body !== undefined) this.bytes.sent += Buffer.byteLength(body);
    return swarmCall({
      identity: this.o.identity,
      host: peer.host,
      port: peer.port,
      expectEnvoyId: peer.envoyId!,
      deadlineMs: this.o.callDeadlineMs ?? DEFAULT_GOSSIP_CALL_DEADLINE_MS,
      maxResponseBytes: max,
      ...(this.o.localAddress !== undefined ? { localAddress: this.o.localAddress } : {}),
      method,
      path,
      ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}),
    }).then((r) => {
      this.bytes.received += r.body.length;
      if (r.status !== 200) throw new VigoError(r.error?.code ?? 'E_SWARM_REPLY', `envoy ${r.peerEnvoyId} answered ${r.status} to ${method} ${path}: ${r.error?.message ?? ''}`);
      return r;
    });
  }

  private async perform(out: GossipOutput): Promise<void> {
    const now = (): number => this.o.clock.now();
    const fail = (e: unknown): { ok: false; error: string } => {
      const error = e instanceof Error ? e.message : String(e);
      this.log(`envelope gossip: ${out.type} of ${out.projectId} with ${out.peer} failed: ${error}`);
      return { ok: false, error };
    };
    if (out.type === 'post') {
      let a: Answer<ReturnType<typeof parsePostAnswer>>;
      try {
        const r = await this.call(this.peer(out.projectId, out.peer), 'POST', gossipPath(out.projectId, out.kind === 'revoke' ? 'revokes' : 'leaves'), 1024 * 1024, encodeEnvelopePost(out.envelopes));
        a = { ok: true, value: parsePostAnswer(r.body, `answer of ${out.peer}`) };
        for (const x of a.value.refused) this.log(`envelope gossip: ${out.peer} refused envelope ${x.id} of ${out.projectId}: ${x.code} ${x.message}`);
      } catch (e) {
        a = fail(e);
      }
      return this.run(this.machine.posted(now(), out.requestId, a));
    }
    if (out.type === 'digest') {
      let a: Answer<ReturnType<typeof parseDigest>>;
      try {
        const r = await this.call(this.peer(out.projectId, out.peer), 'GET', `${gossipPath(out.projectId, 'digest')}${out.buckets ? '?buckets=1' : ''}`, MAX_DIGEST_BYTES);
        a = { ok: true, value: parseDigest(r.body, out.projectId, `digest of ${out.peer}`) };
      } catch (e) {
        a = fail(e);
      }
      return this.run(this.machine.digested(now(), out.requestId, a));
    }
    let a: Answer<ReturnType<typeof parseAllAnswer>>;
    try {
      const q = out.buckets === null ? '' : `?buckets=${bucketQuery(out.buckets)}`;
      const r = await this.call(this.peer(out.projectId, out.peer), 'GET', `${gossipPath(out.projectId, 'all')}${q}`, MAX_ALL_BYTES);
      a = { ok: true, value: parseAllAnswer(r.body, out.projectId, `envelopes of ${out.peer}`) };
    } catch (e) {
      a = fail(e);
    }
    this.run(this.machine.pulled(now(), out.requestId, a));
  }

  // --- the routes -------------------------------------------------------------------------

  private pid(req: SwarmRequest): Hex {
    const pid = req.params.pid ?? '';
    if (!isHex64(pid)) throw new SwarmError(400, 'E_SWARM_PROJECT_ID', `not a project id: ${JSON.stringify(String(pid).slice(0, 80))}`);
    return pid;
  }

  private known(pid: Hex): void {
    if (!this.machine.knows(pid)) throw new SwarmError(404, 'E_GOSSIP_PROJECT_UNKNOWN', `this envoy holds no project ${pid}`);
  }

  private onPost(peer: SwarmPeer, req: SwarmRequest, kind: EnvelopeKind): SwarmResponse {
    const pid = this.pid(req);
    this.bytes.received += req.body.length;
    let envelopes: unknown[];
    try {
      envelopes = parseEnvelopePost(req.body, `${kind} post from envoy ${peer.envoyId}`).envelopes;
    } catch (e) {
      if (e instanceof GossipWireError) throw new SwarmError(e.code === 'E_GOSSIP_TOO_LARGE' ? 413 : 400, e.code, e.message);
      throw e;
    }
    const r = this.machine.receive(this.o.clock.now(), peer.envoyId, pid, kind, envelopes, req.body.length);
    if (r.error !== undefined) {
      this.log(`envelope gossip: refused a ${kind} post of ${pid} from envoy ${peer.envoyId}: ${r.error.code} ${r.error.message}`);
      throw new SwarmError(r.status, r.error.code, r.error.message);
    }
    for (const x of r.answer.refused) this.log(`envelope gossip: dropped ${kind} ${x.id} of ${pid} from envoy ${peer.envoyId}: ${x.code} ${x.message}`);
    if (r.answer.accepted.length > 0) setImmediate(() => this.poke()); // pass it on to the other peers
    return { status: 200, body: r.answer };
  }

  private onDigest(_peer: SwarmPeer, req: SwarmRequest): SwarmResponse {
    const pid = this.pid(req);
    this.known(pid);
    return { status: 200, body: this.machine.digest(pid, this.o.clock.now(), req.query.get('buckets') === '1') };
  }

  private onAll(_peer: SwarmPeer, req: SwarmRequest): SwarmResponse {
    const pid = this.pid(req);
    this.known(pid);
    let buckets: number[] | null;
    try {
      buckets = parseBucketQuery(req.query.get('buckets'));
    } catch (e) {
      if (e instanceof GossipWireError) throw new SwarmError(400, e.code, e.message);
      throw e;
    }
    const body = JSON.stringify(this.machine.all(pid, this.o.clock.now(), buckets));
    if (Buffer.byteLength(body) > MAX_ALL_BYTES) throw new SwarmError(413, 'E_GOSSIP_TOO_LARGE', `the envelopes of ${pid} exceed ${MAX_ALL_BYTES} bytes: ask by bucket (?buckets=0,1,…)`);
    return { status: 200, headers: { 'content-type': 'application/json' }, body };
  }
}
