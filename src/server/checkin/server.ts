/**
 * The agent gRPC endpoint (mTLS, default :1530). Each envoy keeps one bidirectional stream;
 * the client certificate's CN names the envoy. The no-change path — policy version and
 * state fingerprint as the server already knows them — touches only memory and answers a
 * few bytes. Runs are committed to SQLite before they are acknowledged. `push` tells
 * connected envoys to check in now through their stream.
 */
import { plainAddr } from '../../platform/addr.js';
import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { MAX_BUNDLE_JSON_BYTES, MAX_CHECKIN_MESSAGE_BYTES, checkinService, swarmAssignmentMsg, type AgentMessage, type CheckInMsg, type MovedMsg, type ServerMessage } from '../../wire/checkin.js';
import { subsystemAllowed } from '../../wire/swarm-assignment.js';
import { FleetStore } from '../swarm-fleet/store.js';
import { resolveSwarmAssignment, type SwarmGatesConfig } from '../swarm-gates.js';
import { certCommonName, certValidity } from '../../wire/enroll.js';
import { signEnvoyCsr, type PemPair } from '../pki.js';
import { EnvoyCerts } from './certs.js';
import type { ServerIdentity } from '../server-cert.js';
import type { Db } from '../db.js';
import { VigoError } from '../../platform/errors.js';
import type { EnvoyIndex, EnvoyRecord, RunInput } from '../envoys.js';
import type { PolicyState } from '../policy.js';
import type { Metrics } from '../metrics.js';
import { boundReport, summarizeRun } from '../../wire/run-report.js';

type Stream = grpc.ServerDuplexStream<AgentMessage, ServerMessage>;

const runReport = z.object({
  policy_version: z.number().int().nonnegative(),
  started_at: z.string().min(1).max(64),
  duration_ms: z.number().nonnegative(),
  status: z.enum(['ok', 'changed', 'failed']),
  counts: z.object({ ok: z.number().int().nonnegative(), changed: z.number().int().nonnegative(), failed: z.number().int().nonnegative() }),
  configcrates: z.number().int().nonnegative(),
  resources: z.array(z.object({ id: z.string(), type: z.string(), status: z.string(), message: z.string().optional() }).passthrough()).max(100_000),
  // added later, optional (older agents send neither): what the envoy cut, why it could not take a bundle
  truncated: z.object({ bytes: z.number().int().nonnegative(), resources_omitted: z.number().int().nonnegative() }).optional(),
  policy_error: z.object({ version: z.number().int().nonnegative(), message: z.string().max(4096) }).optional(),
}).passthrough();

export interface CheckinServerOptions {
  index: EnvoyIndex;
  policy: PolicyState;
  intervalS: number;
  runsKeptPerEnvoy: number;
  /** the stored report's cap (database.run_report_max_bytes) */
  runReportMaxBytes?: number;
  metrics: Metrics;
  log: (msg: string) => void;
  now?: () => number;
  db: Db;
  /** signs renewed envoy certificates */
  ca: PemPair;
  envoyCertLifetimeS: number;
  /** server.yaml `swarm:` (the gates); absent: every gate off */
  swarm?: SwarmGatesConfig;
}

/** What the spanner adds to check-ins (server/envoy-move.ts): moved envoys, moving ones, the CA bundle. */
export interface CheckinSpanner {
  /** where an envoy this bolt handed over checks in now (undefined: not moved) */
  movedTo(id: string): MovedMsg | undefined;
  /** the envoy's move is under way: its runs wait (refused as unavailable, kept spooled) */
  moving(id: string): boolean;
  /** the CA bundle envoys should trust, and its SHA-256 */
  trust(): { bundle: string; sha256: string };
}

export class CheckinServer {
  spanner: CheckinSpanner | null = null;
  // keepalive pings find envoys that vanished without closing (power loss, a cut link)
  private readonly server = new grpc.Server({
    'grpc.max_receive_message_length': MAX_CHECKIN_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_CHECKIN_MESSAGE_BYTES,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
  });
  private readonly streams = new Map<string, Stream>();
  /** every open stream, moved envoys' included (dropUntrusted looks at all of them) */
  private readonly open = new Set<Stream>();
  private runQueue: { call: Stream; seq: number; rec: EnvoyRecord; run: RunInput }[] = [];
  private runFlushScheduled = false;
  private readonly now: () => number;
  readonly certs: EnvoyCerts;
  private identity: ServerIdentity | undefined;
  private readonly lastRenewal = new Map<string, number>();
  /** server.yaml is read at start: a changed swarm section reaches the envoys when vigosrv restarts */
  private readonly swarmGates: SwarmGatesConfig;
  /** the envoys' swarm traits and what is built from them (the mesh views, name map, peer hints) */
  readonly fleet: FleetStore;

  constructor(private readonly o: CheckinServerOptions) {
    this.now = o.now ?? Date.now;
    this.swarmGates = o.swarm ?? {};
    this.certs = new EnvoyCerts(o.db);
    const gitbackOn = new Map<string, boolean>();
    this.fleet = new FleetStore({
      db: o.db,
      log: o.log,
      view: { intervalS: o.intervalS },
      envoy: (id) => o.index.get(id),
      gitbackEnabled: (hostname) => {
        let on = gitbackOn.get(hostname);
        if (on === undefined) gitbackOn.set(hostname, (on = subsystemAllowed(resolveSwarmAssignment(hostname, this.swarmGates), 'gitback')));
        return on;
      },
    });
    this.server.addService(checkinService(), { Stream: (call: Stream) => this.onStream(call) });
  }

  /** Bind with the server's identity; a renewed certificate reaches new handshakes without a rebind. */
  listen(addr: string, identity: ServerIdentity): Promise<number> {
    this.identity = identity;
    // one provider serves both the CA (client certificates) and the server's own key pair
    const creds = grpc.experimental.createCertificateProviderServerCredentials(identity, identity, true);
    return new Promise((resolve, reject) => this.server.bindAsync(addr, creds, (e, port) => (e ? reject(e) : resolve(port))));
  }

  /** The server certificate the listener serves now (after any renewal). */
  get serverCert(): string | undefined {
    return this.identity?.current.cert;
  }

  get connectedCount(): number {
    return this.streams.size;
  }

  /** Tell envoys to check in now (all connected ones, or the given ids). Returns how many were told. */
  push(ids: string[] | null, reason: string): number {
    let n = 0;
    const targets = ids ?? [...this.streams.keys()];
    for (const id of targets) {
      const s = this.streams.get(id);
      if (!s) continue;
      s.write({ seq: 0, checkin_now: { reason } });
      n++;
    }
    return n;
  }

  /** The envoy's swarm assignment, resolved for the hostname in its enrollment record (never a field it sent). */
  private sendAssignment(call: Stream, rec: EnvoyRecord): void {
    const a = resolveSwarmAssignment(rec.hostname, this.swarmGates);
    if (!call.writableEnded && !call.destroyed) call.write({ seq: 0, swarm: swarmAssignmentMsg(a) });
  }

  /**
   * The trusted CAs changed (a bolt was revoked): cut the streams whose client certificate
   * no CA of `bundle` issued. They were let in by a CA that is no longer trusted; the new
   * set refuses them at their next handshake.
   */
  dropUntrusted(bundle: string): number {
    const cas = (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));
    let n = 0;
    for (const s of this.open) {
      const raw = s.getAuthContext().sslPeerCertificate?.raw;
      const id = raw ? certCommonName(raw) : null;
      if (!raw) continue;
      const cert = new X509Certificate(raw);
      if (cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) continue;
      s.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'the CA of this envoy certificate is no longer trusted (its bolt was removed from the spanner)' });
      n++;
      this.o.log(`cut envoy ${id}'s stream: its certificate's CA is no longer trusted`);
    }
    return n;
  }

  /** Cut a revoked envoy's stream. */
  disconnect(id: string, message: string): void {
    const s = this.streams.get(id);
    if (s) s.emit('error', { code: grpc.status.PERMISSION_DENIED, details: message });
  }

  private refuse(call: Stream, code: grpc.status, details: string): void {
    this.o.metrics.checkinsRefused.inc();
    call.emit('error', { code, details });
  }

  private onStream(call: Stream): void {
    const { index, metrics } = this.o;
    this.open.add(call);
    const closed = () => this.open.delete(call);
    call.on('error', closed);
    call.on('close', closed);
    call.on('end', closed);
    const peerCert = call.getAuthContext().sslPeerCertificate;
    const id = peerCert ? certCommonName(peerCert.raw) : null;
    const rec = id ? index.get(id) : undefined;
    if (id && !rec && this.spanner?.movedTo(id)) return this.servedElsewhere(call, id);
    if (!id || !rec) return this.refuse(call, grpc.status.UNAUTHENTICATED, 'unknown envoy certificate; enroll again with `vigo agent enroll`');
    if (rec.revoked) return this.refuse(call, grpc.status.PERMISSION_DENIED, `envoy ${id} is revoked`);
    try {
      this.certs.record(id, certValidity(peerCert?.raw as Buffer));
      this.certs.recordKey(id, peerCert?.raw as Buffer);
    } catch (e) {
      this.o.log(`envoy ${rec.hostname}: cannot record its certificate: ${e instanceof Error ? e.message : String(e)}`);
    }
    const peer = call.getPeer();
    const raw = peer.startsWith('[') ? peer.slice(1, peer.indexOf(']')) : peer.slice(0, peer.lastIndexOf(':'));
    // a dual-stack listener sees an IPv4 envoy as ::ffff:a.b.c.d: stored, shown and hinted as a.b.c.d
    const ip = plainAddr(raw);
    const prev = this.streams.get(id);
    if (prev && prev !== call) prev.end();
    this.streams.set(id, call);
    index.connected.add(id);
    const gone = () => {
      if (this.streams.get(id) === call) {
        this.streams.delete(id);
        index.connected.delete(id);
      }
    };
    call.on('error', gone);
    call.on('close', gone);
    // every new stream hears its swarm assignment first (the envoy keeps the last one it heard)
    this.sendAssignment(call, rec);
    call.on('end', () => {
      gone();
      call.end();
    });
    call.on('data', (m: AgentMessage) => {
      try {
        // handed over to another bolt while this stream was open: say where it went
        const moved = this.spanner?.movedTo(id);
        if (moved) return this.answerMoved(call, m, moved);
        if (m.run && this.spanner?.moving(id)) return this.refuse(call, grpc.status.UNAVAILABLE, 'this envoy is moving to another bolt; its runs stay spooled and go there');
        if (m.checkin) this.sendTrust(call, m.checkin.trust_sha256);
        if (m.checkin) this.onCheckin(call, rec, ip, m.seq, m.checkin);
        else if (m.run) this.onRun(call, rec, m.seq, m.run.run_id, m.run.report_json);
        else if (m.renew) void this.onRenew(call, rec, m.seq, m.renew.csr);
        else metrics.checkinsRefused.inc();
      } catch (e) {
        // e.g. the database refusing a write: this envoy's request fails, the server stays up,
        // and the envoy keeps its run spooled until a later attempt is acknowledged
        this.o.log(`envoy ${rec.hostname}: ${e instanceof Error ? e.message : String(e)}`);
        this.refuse(call, grpc.status.UNAVAILABLE, 'the server could not process this message; retry later');
      }
    });
  }

  /** An envoy behind on the CA bundle gets it before the answer to its check-in. */
  private sendTrust(call: Stream, envoySha256: string | undefined): void {
    if (!this.spanner || !envoySha256) return; // '' : an agent that predates the bundle
    const t = this.spanner.trust();
    if (t.sha256 !== envoySha256) call.write({ seq: 0, trust: { ca_bundle: t.bundle } });
  }

  /** A moved envoy's stream: every check-in is answered with where it checks in now; nothing else is taken. */
  private servedElsewhere(call: Stream, id: string): void {
    call.on('error', () => undefined);
    call.on('end', () => call.end());
    call.on('data', (m: AgentMessage) => {
      const moved = this.spanner?.movedTo(id);
      if (moved) this.answerMoved(call, m, moved);
      else this.refuse(call, grpc.status.UNAUTHENTICATED, 'unknown envoy certificate; enroll again with `vigo agent enroll`');
    });
  }

  private answerMoved(call: Stream, m: AgentMessage, moved: MovedMsg): void {
    if (m.checkin) call.write({ seq: m.seq, moved });
    else this.refuse(call, grpc.status.UNAVAILABLE, `this envoy moved to bolt ${moved.bolt_id} (${moved.grpc_addr}); check in there`);
  }

  /**
   * The swarm half of a check-in: traits the envoy sent are stored (before the answer that
   * acknowledges their sha), and an envoy whose fleet sha is not ours for it gets the name
   * map and its peer hints first (seq 0). The no-change path compares two strings.
   */
  private onFleet(call: Stream, rec: EnvoyRecord, ip: string, c: CheckInMsg, nowMs: number): string {
    this.fleet.noteAddr(rec.id, ip);
    if (c.traits_json && c.traits_sha256 && c.traits_sha256 !== this.fleet.heldSha(rec.id)) this.fleet.accept(rec.id, rec.hostname, c.traits_sha256, c.traits_json, nowMs);
    if (c.fleet_sha256) {
      const f = this.fleet.fleetFor(rec.id);
      if (f.sha256 !== c.fleet_sha256) call.write({ seq: 0, fleet: f });
    }
    return this.fleet.heldSha(rec.id);
  }

  private onCheckin(call: Stream, rec: EnvoyRecord, ip: string, seq: number, c: CheckInMsg): void {
    if (rec.revoked) return this.refuse(call, grpc.status.PERMISSION_DENIED, `envoy ${rec.id} is revoked`);
    const version = c.policy_version;
    const nowMs = this.now();
    const current = this.o.policy.version;
    const fp = c.fingerprint.slice(0, 128);
    const sameState = fp === rec.fingerprint;
    this.o.index.seen(rec, nowMs, ip, version, fp);
    const traitsSha = this.onFleet(call, rec, ip, c, nowMs);
    if (version === current) {
      // the envoy's state changed (its run report follows on the stream) or nothing did
      (sameState ? this.o.metrics.checkinsNoChange : this.o.metrics.checkinsStateChanged).inc();
      call.write({ seq, ack: { policy_version: current, interval_s: this.o.intervalS, traits_sha256: traitsSha } });
      return;
    }
    let bundleJson: string;
    try {
      bundleJson = this.o.policy.bundleJson(rec.hostname, Math.floor(nowMs / 1000));
    } catch (e) {
      // the envoy keeps its current bundle; the operator sees why in the log
      this.o.log(`envoy ${rec.hostname}: cannot resolve its bundle: ${e instanceof Error ? e.message : String(e)}`);
      this.o.metrics.checkinsRefused.inc();
      call.write({ seq, ack: { policy_version: version, interval_s: this.o.intervalS, traits_sha256: traitsSha } });
      return;
    }
    const bytes = Buffer.byteLength(bundleJson);
    if (bytes > MAX_BUNDLE_JSON_BYTES) {
      // publish refuses such stacks (checkBundleSizes); this is stacks loaded some other way
      this.o.log(`envoy ${rec.hostname}: its bundle for version ${current} is ${bytes} bytes, over the ${MAX_BUNDLE_JSON_BYTES}-byte check-in limit; not sent, the envoy keeps version ${version}`);
      this.o.metrics.checkinsRefused.inc();
      call.write({ seq, ack: { policy_version: version, interval_s: this.o.intervalS, traits_sha256: traitsSha } });
      return;
    }
    this.o.metrics.checkinsBundle.inc();
    call.write({ seq, bundle: { version: current, bundle_json: bundleJson } });
  }

  /**
   * Certificate renewal over the stream the envoy already authenticated: the CSR must be
   * for the key the envoy enrolled with (same key; a new key means enrolling again), and
   * the new certificate keeps the envoy's id as CN.
   */
  private async onRenew(call: Stream, rec: EnvoyRecord, seq: number, csr: string): Promise<void> {
    const answer = (cert: string, error: string) => {
      if (!call.writableEnded && !call.destroyed) call.write({ seq, renewed: { cert, error } });
    };
    if (rec.revoked) return this.refuse(call, grpc.status.PERMISSION_DENIED, `envoy ${rec.id} is revoked`);
    // one renewal per envoy per minute (a tenth of the lifetime when that is shorter): an
    // enrolled envoy cannot make the server sign certificates in a loop
    const nowMs = this.now();
    const gapMs = Math.min(60_000, (this.o.envoyCertLifetimeS * 1000) / 10);
    const last = this.lastRenewal.get(rec.id);
    if (last !== undefined && nowMs - last < gapMs) return answer('', `renewed ${Math.round((nowMs - last) / 1000)}s ago; retry in ${Math.ceil((gapMs - (nowMs - last)) / 1000)}s`);
    try {
      let signed;
      try {
        signed = await signEnvoyCsr(this.o.ca, csr.slice(0, 16384), rec.id, new Date(nowMs), this.o.envoyCertLifetimeS, rec.pubkeySha256);
      } catch (e) {
        if (!(e instanceof VigoError && e.code === 'E_RENEW_KEY')) throw e;
        this.o.log(`envoy ${rec.hostname}: renewal refused: the CSR is for another key than the one it enrolled with`);
        return answer('', 'the renewal CSR must be for the key this envoy enrolled with; to change keys, enroll again with `vigo agent enroll --force`');
      }
      this.lastRenewal.set(rec.id, nowMs);
      const v = certValidity(signed.cert);
      this.o.db.prepare('UPDATE envoys SET cert_serial = ? WHERE id = ?').run(signed.serial, rec.id);
      rec.certSerial = signed.serial;
      this.certs.record(rec.id, v);
      this.o.metrics.certRenewals.inc();
      this.o.log(`envoy ${rec.hostname}: renewed its certificate (serial ${signed.serial}, valid until ${new Date(v.notAfter).toISOString()})`);
      answer(signed.cert, '');
    } catch (e) {
      this.o.log(`envoy ${rec.hostname}: renewal refused: ${e instanceof Error ? e.message : String(e)}`);
      answer('', e instanceof Error ? e.message : String(e));
    }
  }

  private onRun(call: Stream, rec: EnvoyRecord, seq: number, runId: string, reportJson: string): void {
    if (rec.revoked) return this.refuse(call, grpc.status.PERMISSION_DENIED, `envoy ${rec.id} is revoked`);
    let parsed: z.infer<typeof runReport>;
    try {
      if (!/^[A-Za-z0-9-]{8,64}$/.test(runId)) throw new Error('bad run_id');
      parsed = runReport.parse(JSON.parse(reportJson));
    } catch (e) {
      this.o.log(`envoy ${rec.id}: malformed run report refused: ${e instanceof Error ? e.message.slice(0, 200) : String(e)}`);
      return this.refuse(call, grpc.status.INVALID_ARGUMENT, 'malformed run report');
    }
    const stored = boundReport(parsed, this.o.runReportMaxBytes ?? 65536, reportJson);
    const policyError = parsed.policy_error ? `version ${parsed.policy_version} kept, version ${parsed.policy_error.version} refused: ${parsed.policy_error.message}` : null;
    this.runQueue.push({
      call,
      seq,
      rec,
      run: {
        run_id: runId,
        policy_version: parsed.policy_version,
        started_at: parsed.started_at,
        duration_ms: Math.round(parsed.duration_ms),
        status: parsed.status,
        counts: parsed.counts,
        configcrates: parsed.configcrates,
        report: stored.json,
        report_bytes: Buffer.byteLength(reportJson, 'utf8'),
        truncated: stored.truncated,
        summary: summarizeRun(parsed),
        policy_error: policyError,
      },
    });
    if (!this.runFlushScheduled) {
      this.runFlushScheduled = true;
      setImmediate(() => this.flushRuns());
    }
  }

  /**
   * Group commit: every run that arrived in this event-loop turn goes into one
   * transaction; each is acknowledged only after that commit.
   */
  private flushRuns(): void {
    this.runFlushScheduled = false;
    const batch = this.runQueue.splice(0);
    if (batch.length === 0) return;
    let fresh: boolean[];
    try {
      fresh = this.o.index.recordRuns(batch, this.now(), this.o.runsKeptPerEnvoy);
    } catch (e) {
      this.o.log(`storing ${batch.length} run report(s) failed: ${e instanceof Error ? e.message : String(e)}`);
      for (const b of batch) this.refuse(b.call, grpc.status.UNAVAILABLE, 'the server could not store the run; retry later');
      return;
    }
    batch.forEach((b, i) => {
      if (fresh[i]) this.o.metrics.runs.inc({ status: b.run.status });
      if (b.call.writableEnded || b.call.destroyed) return; // stored; a resend is acknowledged then
      b.call.write({ seq: b.seq, run_ack: { run_id: b.run.run_id } });
    });
  }

  stop(): Promise<void> {
    this.flushRuns();
    this.certs.flush();
    for (const s of this.streams.values()) s.end();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 2000);
      this.server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
