/**
 * The runtime of one envoy's gitback replication (issue 11 items 4 and 6): the pure
 * ReplicationMachine driven with real time, the swarm transport's routes and calls, and
 * real git over the bare repos (DiskReplicaStore, ingest.ts).
 *
 * Endpoints (mTLS; the peer is its certificate's envoy id):
 *   POST /swarm/gitback/push/<pid>    body: one JSON line `{v:1, exact, updates:[{manifest, chain}]}`
 *                                     then the bundle bytes (empty for deletions only).
 *     The line (at most MAX_HEAD_BYTES) is read and `precheck`ed before a byte of the bundle
 *     is written; the bundle then streams to a quarantine file under the route's body
 *     limit, `git bundle list-heads` must match the manifests (checkBundleRefs), `git bundle
 *     verify` and a fetch into a quarantine repo must pass, and only then does `receive`
 *     judge it; accepted refs move by compare-and-swap. Answer `{accepted, refs_changed,
 *     tips, skipped}` (200), a refusal the same with `error:{code,message}` (409).
 *   POST /swarm/gitback/bundle/<pid>  body `{v:1, have:{ref → tip}}` (at most MAX_HAVE_BYTES)
 *   GET  /swarm/gitback/bundle/<pid>?have=<base64url JSON tips>   (the older form; `have` is
 *                                     capped by the request line, about 150 refs)
 *     Header X-Vigo-Chain. Only to a caller presenting a chain that verifies for <pid> here.
 *     Answer: one JSON line `{v:1, updates, tips}` (the machine's `serve`) then a bundle of
 *     those updates' tips built on `have`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, openSync, readdirSync, readSync, closeSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { WriteStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Clock, Rng } from '../platform/clock.js';
import { VigoError } from '../platform/errors.js';
import { decodePushChainHeader, isHex64, verifyPushChainHeader, type Hex, type Scope } from '../trust/index.js';
import { checkBundleRefs, checkManifest, ManifestError, manifestId, type Manifest, type RefUpdate } from '../wire/gitback-manifest.js';
import { ReplicaAcks } from './replica-acks.js';
import { bundleHeads, buildBundle, fileSha256, manifestTips, Quarantine } from './ingest.js';
import type { ProjectPeers, Peer, PeerKey } from './peers.js';
import { DiskReplicaStore } from './replica-disk.js';
import { StepRunner } from './step-runner.js';
import { ReplicationMachine, type Answer, type FetchBundle, type ReceiveResult, type ReplicationConfig, type SendBundle, type ServeResult, type Step } from './replication.js';
import { tipsOf, type SignedUpdate, type Tips } from './store.js';
import { SwarmError, SwarmTransport, type SwarmIdentity, type SwarmPeer, type SwarmRequest, type SwarmResponse } from './transport.js';
import { swarmCall, type SwarmReply } from './transport-client.js';
import { updateVerifier, type ProjectTrustView } from './verifier.js';

/** Largest JSON line before a bundle (manifests plus chains). */
export const MAX_HEAD_BYTES = 4 * 1024 * 1024;
/** Longest `have` query sent by the GET form (to a peer without the POST); a larger one is replaced by `{}` (a full bundle). */
export const MAX_HAVE_CHARS = 12 * 1024;
/** Body limit of the POST form of the bundle request: `have` of about 80,000 refs. */
export const MAX_HAVE_BYTES = 8 * 1024 * 1024;
export const DEFAULT_PUSH_BODY_LIMIT = 512 * 1024 * 1024;
export const DEFAULT_CALL_DEADLINE_MS = 120_000;

export interface SwarmNodeOptions {
  identity: SwarmIdentity;
  /** this envoy's id (its certificate's CN) */
  envoyId: string;
  /** listen address of the peer server */
  listenHost: string;
  port: number;
  /** the envoy's gitback base (`paths.gitbackBase()`) and bare repo dir (`paths.gitbackProjects()`) */
  base: string;
  projectsDir: string;
  peers: ProjectPeers;
  clock: Clock;
  rng: Rng;
  /** this envoy's revocations and delegations for a project (default: none known) */
  trustView?: (projectId: Hex) => ProjectTrustView;
  /** the X-Vigo-Chain this envoy presents to fetch a project (default: the chain of an update it holds) */
  chainFor?: (projectId: Hex) => string | null;
  replication?: Partial<ReplicationConfig>;
  /** push body limit (bytes) and request time limit of the peer server's replication routes */
  pushBodyLimitBytes?: number;
  requestTimeoutMs?: number;
  /** deadline of each outgoing call */
  callDeadlineMs?: number;
  /** source address of outgoing calls */
  localAddress?: string;
  log?: (line: string) => void;
}

interface PushHead {
  v: 1;
  exact: boolean;
  updates: SignedUpdate[];
}

function checkUpdates(v: unknown, what: string): SignedUpdate[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 1024) throw new SwarmError(400, 'E_SWARM_BODY', `${what}: updates must be a list of 1 to 1024 signed updates`);
  return v.map((u, i) => {
    const o = u as { manifest?: unknown; chain?: unknown };
    if (typeof o !== 'object' || o === null || typeof o.chain !== 'string') throw new SwarmError(400, 'E_SWARM_BODY', `${what}: updates[${i}].chain must be the X-Vigo-Chain text`);
    try {
      return { manifest: checkManifest(o.manifest, `${what}: updates[${i}].manifest`), chain: o.chain };
    } catch (e) {
      if (e instanceof ManifestError) throw new SwarmError(400, e.code, e.message);
      throw e;
    }
  });
}

/** Reads the JSON line that opens a replication body; the stream is left positioned at the bundle. */
function readHead(stream: Readable, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (d: Buffer): void => {
      const nl = d.indexOf(0x0a);
      if (nl < 0) {
        size += d.length;
        if (size > max) return done(new SwarmError(413, 'E_SWARM_HEAD_TOO_LARGE', `the JSON line before the bundle exceeds ${max} bytes`));
        parts.push(d);
        return;
      }
      parts.push(d.subarray(0, nl));
      stream.pause();
      const rest = d.subarray(nl + 1);
      done(null);
      if (rest.length > 0) stream.unshift(rest);
    };
    const onEnd = (): void => done(new SwarmError(400, 'E_SWARM_BODY', 'the body ended before the JSON line did'));
    const done = (e: Error | null): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', done);
      if (e) reject(e);
      else resolve(Buffer.concat(parts));
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', done);
  });
}

function parseJsonLine(b: Buffer, what: string): Record<string, unknown> {
  try {
    const v = JSON.parse(b.toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* answered below */
  }
  throw new SwarmError(400, 'E_SWARM_BODY', `${what}: the first line is not a JSON object`);
}

function checkTips(v: unknown, what: string): Tips {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SwarmError(400, 'E_SWARM_BODY', `${what}: tips must be an object of ref → object id`);
  for (const [k, t] of Object.entries(v)) if (typeof t !== 'string' || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(t) || !k.startsWith('refs/')) throw new SwarmError(400, 'E_SWARM_BODY', `${what}: tips[${JSON.stringify(k.slice(0, 80))}] is not a ref and an object id`);
  return v as Tips;
}

function wire(r: ReceiveResult): Record<string, unknown> {
  return { accepted: r.accepted, refs_changed: r.refsChanged, tips: r.tips, skipped: r.skipped, ...(r.code !== undefined ? { error: { code: r.code, message: r.message ?? '' } } : {}) };
}

function frame(head: unknown, bundle: string | null): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from(`${JSON.stringify(head)}\n`);
      if (bundle !== null) yield* createReadStream(bundle);
    })(),
  );
}

export class SwarmNode {
  readonly store: DiskReplicaStore;
  readonly machine: ReplicationMachine;
  readonly transport: SwarmTransport;
  private readonly scratch: string;
  private readonly bundles: string;
  private readonly steps: StepRunner<Step['outputs'][number]>;
  private closed = false;
  private readonly log: (line: string) => void;
  /** bundle bytes sent to and received from peers (what the fan-out costs on the wire) */
  readonly bytes = { sent: 0, received: 0 };
  /** refusals answered by the peer server, by code (an operator's first look) */
  readonly refusals: Record<string, number> = {};
  /** which peers acknowledged each local push (the replica report) */
  readonly acks = new ReplicaAcks();

  constructor(private readonly o: SwarmNodeOptions) {
    this.log = o.log ?? (() => {});
    this.steps = new StepRunner({
      clock: o.clock,
      perform: (out) => (out.type === 'send' ? this.doSend(out) : this.doFetch(out)),
      onError: (e) => this.log(`swarm replication: ${e instanceof Error ? e.message : String(e)}`),
      wake: () => this.poke(),
    });
    this.store = new DiskReplicaStore({ base: o.base, projectsDir: o.projectsDir });
    this.scratch = join(this.store.stateDir, 'quarantine');
    this.bundles = join(this.store.stateDir, 'bundles');
    rmSync(this.scratch, { recursive: true, force: true }); // what a crash left in quarantine never counted
    mkdirSync(this.scratch, { recursive: true, mode: 0o700 });
    mkdirSync(this.bundles, { recursive: true, mode: 0o700 });
    this.machine = new ReplicationMachine(this.store, o.peers, updateVerifier(o.trustView ?? (() => ({}))), o.rng, o.replication);
    this.transport = new SwarmTransport({ identity: o.identity, host: o.listenHost, port: o.port, log: this.log });
    const limits = { bodyLimitBytes: o.pushBodyLimitBytes ?? DEFAULT_PUSH_BODY_LIMIT, requestTimeoutMs: o.requestTimeoutMs ?? 300_000 };
    this.transport.route('POST', '/swarm/gitback/push/:pid', (p, r) => this.onPush(p, r), { ...limits, body: 'stream' });
    this.transport.route('GET', '/swarm/gitback/bundle/:pid', (p, r) => this.onBundle(p, r), { requestTimeoutMs: limits.requestTimeoutMs });
    this.transport.route('POST', '/swarm/gitback/bundle/:pid', (p, r) => this.onBundle(p, r), { requestTimeoutMs: limits.requestTimeoutMs, bodyLimitBytes: MAX_HAVE_BYTES });
  }

  async start(): Promise<{ port: number }> {
    const a = await this.transport.listen();
    this.run(this.machine.tick(this.o.clock.now()));
    return { port: a.port };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.steps.cancel();
    await this.transport.close();
    await this.steps.settled();
  }

  /** this envoy's id (its certificate's CN): what its manifests name as `envoy` */
  get envoyId(): string {
    return this.o.envoyId;
  }

  /** A local user holds the project: it is announced, fetched when its repo is missing (DR). */
  join(projectId: Hex, scope: Scope): void {
    this.store.join(projectId, scope);
    this.poke();
  }

  /** The projects whose bare repo this envoy holds (with refs): what the announcer names. */
  held(): Array<{ projectId: Hex; scope: Scope }> {
    return this.store
      .projects()
      .filter((p) => this.store.refs(p.projectId).size > 0 && existsSync(this.store.repoOf(p.projectId)))
      .map((p) => ({ projectId: p.projectId, scope: p.scope }));
  }

  /** The tips replication holds for a project. */
  tips(projectId: Hex): Tips {
    return tipsOf(this.store.refs(projectId));
  }

  /**
   * The bundle of a push that just landed in the bare repo (old tips as prerequisites),
   * kept under `<base>/replica/bundles/<sha256>.bundle` to be sent as is: the manifest
   * signs its sha256.
   */
  preparePush(projectId: Hex, refs: readonly RefUpdate[]): Promise<{ bundleSha256: Hex }> {
    const repo = this.store.repoOf(projectId);
    const want = new Map(refs.map((r) => [r.ref, r.new] as const));
    const base: Tips = {};
    for (const r of refs) if (r.old !== null) base[r.ref] = r.old;
    const tmp = join(this.bundles, `.tmp-${randomBytes(6).toString('hex')}`);
    return buildBundle(repo, this.scratch, want, base, tmp).then(async (built) => {
      if (built === null) return { bundleSha256: createHash('sha256').digest('hex') };
      const sha = await fileSha256(tmp);
      renameSync(tmp, join(this.bundles, `${sha}.bundle`));
      return { bundleSha256: sha };
    });
  }

  /** The push's signed update: recorded and fanned out (the refs are already in the repo). */
  localPush(update: SignedUpdate, meta?: { scope: Scope; member: boolean }): void {
    const m = update.manifest;
    const now = this.o.clock.now();
    const targets = this.machine.targets({ projectId: m.project_id, scope: meta?.scope ?? m.scope, member: meta?.member ?? true }, now);
    this.acks.pushed(manifestId(m), m.project_id, m.refs, targets.map((p) => p.key));
    this.run(this.machine.localPush(this.o.clock.now(), update, meta));
    this.pruneBundles();
  }

  /** Push bundles no held ref comes from any more are never sent as is again: remove them. */
  private pruneBundles(): void {
    const live = this.store.liveBundleHashes();
    for (const n of readdirSync(this.bundles)) {
      const m = /^([0-9a-f]{64})\.bundle$/.exec(n);
      if (m !== null && !live.has(m[1]!)) rmSync(join(this.bundles, n), { force: true });
    }
  }

  /** Run a tick now (new peers heard, a test that wants no wait). */
  poke(): void {
    if (!this.closed) this.run(this.machine.tick(this.o.clock.now()));
  }

  // --- the machine's outputs ----------------------------------------------------------

  private run(step: Step): void {
    if (!this.closed) this.steps.run(step);
  }

  private peerOf(projectId: Hex, key: PeerKey): Peer {
    const now = this.o.clock.now();
    // a cross_subnet_members entry has no presence line: it is called by address, and its id learned from its certificate
    const p = [...this.o.peers.peersOf(projectId, now), ...this.o.peers.envoys(now)].find((x) => x.key === key && (x.envoyId !== null || x.sources.includes('cross-subnet')));
    if (p === undefined) throw new VigoError('E_SWARM_PEER_UNKNOWN', `peer ${key} has not announced its envoy id; it is tried again once it does`);
    return p;
  }

  private async call(peer: Peer, c: { method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: Readable | Buffer; sink?: NodeJS.WritableStream }) {
    const r = await swarmCall({
      identity: this.o.identity,
      host: peer.host,
      port: peer.port,
      expectEnvoyId: peer.envoyId,
      deadlineMs: this.o.callDeadlineMs ?? DEFAULT_CALL_DEADLINE_MS,
      maxResponseBytes: this.o.pushBodyLimitBytes ?? DEFAULT_PUSH_BODY_LIMIT,
      ...(this.o.localAddress !== undefined ? { localAddress: this.o.localAddress } : {}),
      method: c.method,
      path: c.path,
      ...(c.headers ? { headers: c.headers } : {}),
      ...(c.body ? { body: c.body } : {}),
      ...(c.sink ? { sink: c.sink as import('node:stream').Writable } : {}),
    });
    if (peer.envoyId === null && this.o.peers.learnEnvoyId(peer.key, r.peerEnvoyId)) this.log(`swarm replication: ${peer.key} (cross_subnet_members) is envoy ${r.peerEnvoyId}, as its certificate proves`);
    return r;
  }

  private async doSend(o: SendBundle): Promise<void> {
    let answer: Answer<ReceiveResult>;
    const tmp = join(this.scratch, `out-${randomBytes(6).toString('hex')}.bundle`);
    try {
      const peer = this.peerOf(o.projectId, o.peer);
      let bundle: string | null;
      let exact = o.exact;
      const own = o.exact ? join(this.bundles, `${o.updates[0]!.manifest.bundle_sha256}.bundle`) : null;
      if (own !== null && existsSync(own)) bundle = own;
      else {
        exact = exact && o.updates[0]!.manifest.refs.every((r) => r.new === null);
        bundle = await buildBundle(this.store.repoOf(o.projectId), this.scratch, manifestTips(o.updates.map((u) => u.manifest)), o.base, tmp);
      }
      if (bundle !== null) this.bytes.sent += statSync(bundle).size;
      const r = await this.call(peer, { method: 'POST', path: `/swarm/gitback/push/${o.projectId}`, body: frame({ v: 1, exact, updates: o.updates }, bundle) });
      answer = receiveAnswer(r.status, r.body, peer.key);
    } catch (e) {
      answer = { ok: false, error: e instanceof Error ? e.message : String(e) };
    } finally {
      rmSync(tmp, { force: true });
    }
    if (!answer.ok && answer.final !== undefined) this.log(`swarm replication: ${o.peer} refused the bundle of ${o.projectId} for good: ${answer.error}; it is not sent there again until the project's tips change — raise pushBodyLimitBytes on that envoy if the repo is meant to be this large, anti-entropy then catches it up`);
    else if (!answer.ok) this.log(`swarm replication: send of ${o.projectId} to ${o.peer} failed: ${answer.error}`);
    else this.acks.heard(o.projectId, o.peer, answer.value.tips);
    this.run(this.machine.sent(this.o.clock.now(), o.requestId, answer));
  }

  private async doFetch(o: FetchBundle): Promise<void> {
    const file = join(this.scratch, `in-${randomBytes(6).toString('hex')}`);
    let q: Quarantine | null = null;
    let sink: WriteStream | null = null;
    try {
      const chain = (this.o.chainFor ?? ((pid: Hex) => this.anyChain(pid)))(o.projectId);
      if (chain === null) throw new VigoError('E_SWARM_NO_CHAIN', `no chain for project ${o.projectId} to present`);
      const peer = this.peerOf(o.projectId, o.peer);
      const path = `/swarm/gitback/bundle/${o.projectId}`;
      const get = async (): Promise<SwarmReply> => {
        // the request line shares the transport's 16 KiB header cap: past it (about 150 refs), ask for everything
        const encoded = Buffer.from(JSON.stringify(o.have)).toString('base64url');
        const have = encoded.length <= MAX_HAVE_CHARS ? encoded : Buffer.from('{}').toString('base64url');
        sink = scratchSink(file);
        return this.call(peer, { method: 'GET', path: `${path}?have=${have}`, headers: { 'x-vigo-chain': chain }, sink });
      };
      const have = Buffer.from(JSON.stringify({ v: 1, have: o.have }));
      sink = scratchSink(file);
      let r: SwarmReply =
        have.length <= MAX_HAVE_BYTES ? await this.call(peer, { method: 'POST', path, headers: { 'x-vigo-chain': chain, 'content-type': 'application/json' }, body: have, sink }) : await get();
      // a peer of a version before the POST form (405): the GET, incremental up to about 150 refs
      if (r.status === 405) {
        sink.destroy();
        r = await get();
      }
      const out = sink;
      // a write that failed (disk full) fails the fetch here
      await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
      if (r.status !== 200) throw new VigoError(r.error?.code ?? 'E_SWARM_REPLY', `envoy ${r.peerEnvoyId} answered ${r.status}: ${r.error?.message ?? ''}`);
      const { head, bundle } = splitFile(file, MAX_HEAD_BYTES);
      if (bundle !== null) this.bytes.received += statSync(bundle).size;
      const h = parseJsonLine(head, 'bundle answer');
      const served: ServeResult = { updates: h.updates === undefined || (Array.isArray(h.updates) && h.updates.length === 0) ? [] : checkUpdates(h.updates, 'bundle answer'), tips: checkTips(h.tips, 'bundle answer') };
      this.acks.heard(o.projectId, o.peer, served.tips);
      q = await this.admit(o.projectId, served.updates.map((u) => u.manifest), bundle);
      this.store.setQuarantine({ projectId: o.projectId, gitDir: q.gitDir, heads: q.heads });
      try {
        this.run(this.machine.fetched(this.o.clock.now(), o.requestId, { ok: true, value: served }));
      } finally {
        this.store.setQuarantine(null);
      }
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      this.log(`swarm replication: fetch of ${o.projectId} from ${o.peer} failed: ${error}`);
      this.run(this.machine.fetched(this.o.clock.now(), o.requestId, { ok: false, error }));
    } finally {
      sink?.destroy();
      q?.dispose();
      rmSync(file, { force: true });
      rmSync(`${file}.bundle`, { force: true });
    }
  }

  private anyChain(projectId: Hex): string | null {
    for (const s of this.store.refs(projectId).values()) {
      const u = this.store.update(projectId, s.manifestId);
      if (u !== undefined) return u.chain;
    }
    return null;
  }

  /** Checks a received bundle against its manifests and fetches it into a quarantine; throws SwarmError. */
  private async admit(projectId: Hex, manifests: Manifest[], bundle: string | null): Promise<Quarantine> {
    const q = new Quarantine(this.scratch, this.store.repoOf(projectId));
    try {
      const heads = bundle === null ? {} : await bundleHeads(bundle);
      const c = checkBundleRefs(manifests, heads);
      if (!c.ok) throw new SwarmError(409, c.code, c.message);
      if (bundle !== null) {
        await q.admit(bundle);
        q.heads = heads;
      }
      return q;
    } catch (e) {
      q.dispose();
      if (e instanceof VigoError && e.code === 'E_BUNDLE_CORRUPT') throw new SwarmError(409, e.code, `${e.message} (the bundle is truncated or damaged; nothing was changed)`);
      throw e;
    }
  }

  // --- the peer server ------------------------------------------------------------------

  private refuse(code: string, message: string, projectId: Hex | null): SwarmResponse {
    this.refusals[code] = (this.refusals[code] ?? 0) + 1;
    return { status: 409, body: { accepted: false, refs_changed: [], tips: projectId === null ? {} : this.tips(projectId), skipped: [], error: { code, message } } };
  }

  private async onPush(peer: SwarmPeer, req: SwarmRequest): Promise<SwarmResponse> {
    const pid = req.params.pid ?? '';
    if (!isHex64(pid)) throw new SwarmError(400, 'E_SWARM_PROJECT_ID', `not a project id: ${JSON.stringify(String(pid).slice(0, 80))}`);
    const stream = req.stream!;
    const h = parseJsonLine(await readHead(stream, MAX_HEAD_BYTES), 'push body');
    const head: PushHead = { v: 1, exact: h.exact === true, updates: checkUpdates(h.updates, 'push body') };
    const now = this.o.clock.now();
    const pre = this.machine.precheck(now, pid, head.updates, head.exact);
    if (!pre.ok) {
      // Read and drop what the peer still sends (capped by the body and time limits) before
      // answering: Node closes a connection whose request was not read to its end, and the
      // peer, still writing, would see EPIPE instead of this refusal.
      await drain(stream);
      this.log(`swarm replication: refused a push of ${pid} from envoy ${peer.envoyId}: ${pre.code} ${pre.message}`);
      return this.refuse(pre.code, pre.message, pid);
    }
    const file = join(this.scratch, `push-${randomBytes(6).toString('hex')}.bundle`);
    let q: Quarantine | null = null;
    try {
      // hashed as it arrives: the file is not read again for its sha256
      const hash = createHash('sha256');
      const hashing = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          cb(null, chunk);
        },
      });
      try {
        await pipeline(stream, hashing, createWriteStream(file, { mode: 0o600 }));
      } catch (e) {
        if (e instanceof SwarmError) throw e;
        throw new SwarmError(400, 'E_SWARM_BODY', `the bundle did not arrive whole: ${e instanceof Error ? e.message : String(e)}`);
      }
      const size = statSync(file).size;
      this.bytes.received += size;
      const empty = size === 0;
      const sha = hash.digest('hex');
      try {
        q = await this.admit(pid, head.updates.map((u) => u.manifest), empty ? null : file);
      } catch (e) {
        if (e instanceof SwarmError && e.status === 409) return this.refuse(e.code, e.message, pid);
        throw e;
      }
      this.store.setQuarantine({ projectId: pid, gitDir: q.gitDir, heads: q.heads });
      let r: ReceiveResult;
      try {
        r = this.machine.receive(this.o.clock.now(), pid, head.updates, head.exact ? sha : null);
      } finally {
        this.store.setQuarantine(null);
      }
      if (!r.accepted) {
        this.refusals[r.code ?? 'E_REFUSED'] = (this.refusals[r.code ?? 'E_REFUSED'] ?? 0) + 1;
        this.log(`swarm replication: refused a push of ${pid} from envoy ${peer.envoyId}: ${r.code ?? ''} ${r.message ?? ''}`);
      }
      // what we hold now may be what other peers lack
      if (r.refsChanged.length > 0) setImmediate(() => this.poke());
      return { status: r.accepted ? 200 : 409, body: wire(r) };
    } finally {
      q?.dispose();
      rmSync(file, { force: true });
    }
  }

  private async onBundle(peer: SwarmPeer, req: SwarmRequest): Promise<SwarmResponse> {
    const pid = req.params.pid ?? '';
    if (!isHex64(pid)) throw new SwarmError(400, 'E_SWARM_PROJECT_ID', `not a project id: ${JSON.stringify(String(pid).slice(0, 80))}`);
    const chain = req.headers['x-vigo-chain'];
    if (typeof chain !== 'string') throw new SwarmError(401, 'E_SWARM_NO_CHAIN', 'X-Vigo-Chain is required: present the chain of a member of the project');
    let leaf: string;
    try {
      const pc = decodePushChainHeader(chain);
      leaf = pc.chain[pc.chain.length - 1]?.subject ?? '';
    } catch (e) {
      throw new SwarmError(403, 'E_SWARM_CHAIN', `X-Vigo-Chain: ${e instanceof Error ? e.message : String(e)}`);
    }
    const view: ProjectTrustView = this.o.trustView?.(pid) ?? {};
    const v = verifyPushChainHeader(chain, {
      projectId: pid,
      revoked: view.revocations?.revoked ?? new Map(),
      ...(view.revocations?.revokedAt ? { revokedAt: view.revocations.revokedAt } : {}),
      ...(view.revocations?.left ? { left: view.revocations.left } : {}),
      ...(view.knownDelegations ? { knownDelegations: view.knownDelegations } : {}),
      ...(view.tombstoned !== undefined ? { tombstoned: view.tombstoned } : {}),
      now: Math.floor(this.o.clock.now() / 1000),
      presenter: leaf,
    });
    if (!v.ok) {
      this.refusals.E_SWARM_CHAIN = (this.refusals.E_SWARM_CHAIN ?? 0) + 1;
      this.log(`swarm replication: refused a bundle of ${pid} to envoy ${peer.envoyId}: ${v.message}`);
      throw new SwarmError(403, 'E_SWARM_CHAIN', `the chain does not verify for project ${pid} here: ${v.message}`);
    }
    this.machine.memberPresented(pid, peer.envoyId, leaf); // a leave of every member it showed stops fan-out to it
    let have: Tips = {};
    const hq = req.query.get('have');
    if (req.method === 'POST') {
      const j = parseJsonLine(req.body, 'bundle request');
      if (j.v !== 1) throw new SwarmError(400, 'E_SWARM_BODY', 'bundle request: v must be 1');
      have = checkTips(j.have, 'bundle request: have');
    } else if (hq !== null) {
      try {
        have = checkTips(JSON.parse(Buffer.from(hq, 'base64url').toString('utf8')), 'have');
      } catch (e) {
        if (e instanceof SwarmError) throw e;
        throw new SwarmError(400, 'E_SWARM_BODY', 'have: not base64url JSON');
      }
    }
    const served = this.machine.serve(pid, have);
    const out = join(this.scratch, `serve-${randomBytes(6).toString('hex')}.bundle`);
    let bundle: string | null = null;
    try {
      if (served.updates.length > 0) bundle = await buildBundle(this.store.repoOf(pid), this.scratch, manifestTips(served.updates.map((u) => u.manifest)), have, out);
    } catch (e) {
      rmSync(out, { force: true });
      throw e;
    }
    const body = frame({ v: 1, updates: served.updates, tips: served.tips }, bundle);
    body.once('close', () => rmSync(out, { force: true }));
    return { status: 200, stream: body };
  }
}

/** The file a fetched answer is written to; a write error shows as the call's failure, never as an unhandled event. */
function scratchSink(file: string): WriteStream {
  const w = createWriteStream(file, { mode: 0o600 });
  w.on('error', () => {});
  return w;
}

function drain(s: Readable): Promise<void> {
  return new Promise((resolve) => {
    s.once('end', resolve);
    s.once('error', () => resolve());
    s.resume();
  });
}

function receiveAnswer(status: number, body: Buffer, from: string): Answer<ReceiveResult> {
  let j: { accepted?: unknown; refs_changed?: unknown; tips?: unknown; skipped?: unknown; error?: { code?: string; message?: string } };
  try {
    j = JSON.parse(body.toString('utf8')) as typeof j;
  } catch {
    return { ok: false, error: `${from} answered ${status} without JSON` };
  }
  // too large stays too large: the machine gives up on this peer for these tips instead of retrying
  if (status === 413) return { ok: false, error: `${from} answered 413 ${j.error?.code ?? ''}: ${j.error?.message ?? ''}`, final: { code: j.error?.code ?? 'E_BODY_TOO_LARGE' } };
  if ((status !== 200 && status !== 409) || typeof j.accepted !== 'boolean') return { ok: false, error: `${from} answered ${status}: ${j.error?.code ?? ''} ${j.error?.message ?? ''}` };
  const r: ReceiveResult = {
    accepted: j.accepted,
    refsChanged: Array.isArray(j.refs_changed) ? j.refs_changed.filter((x): x is string => typeof x === 'string') : [],
    skipped: Array.isArray(j.skipped) ? (j.skipped as ReceiveResult['skipped']) : [],
    tips: (() => {
      try {
        return checkTips(j.tips, 'answer');
      } catch {
        return {};
      }
    })(),
  };
  if (j.error?.code !== undefined) Object.assign(r, { code: j.error.code, message: j.error.message ?? '' });
  return { ok: true, value: r };
}

/** Split a downloaded `<json line>\n<bundle>` file: the line, and the bundle written beside it (null when empty). */
function splitFile(file: string, max: number): { head: Buffer; bundle: string | null } {
  const fd = openSync(file, 'r');
  let head: Buffer;
  let offset: number;
  try {
    const buf = Buffer.alloc(Math.min(max, Math.max(1, statSync(file).size)));
    const n = readSync(fd, buf, 0, buf.length, 0);
    const nl = buf.subarray(0, n).indexOf(0x0a);
    if (nl < 0) throw new VigoError('E_SWARM_REPLY', 'the bundle answer has no JSON line');
    head = Buffer.from(buf.subarray(0, nl));
    offset = nl + 1;
  } finally {
    closeSync(fd);
  }
  const size = statSync(file).size;
  if (size === offset) return { head, bundle: null };
  const bundle = `${file}.bundle`;
  const src = openSync(file, 'r');
  const dst = openSync(bundle, 'w', 0o600);
  try {
    const chunk = Buffer.alloc(1024 * 1024);
    let pos = offset;
    for (;;) {
      const n = readSync(src, chunk, 0, chunk.length, pos);
      if (n === 0) break;
      writeAll(dst, chunk.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(src);
    closeSync(dst);
  }
  return { head, bundle };
}

function writeAll(fd: number, b: Buffer): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off);
}
