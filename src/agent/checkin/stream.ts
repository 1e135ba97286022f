/**
 * The envoy end of the check-in stream: one bidirectional gRPC stream over mTLS, opened
 * lazily and reopened after a failure. Requests are matched to answers by `seq`; a
 * CheckInNow from the server calls `onPush`. Its message size limit is the server's
 * (`MAX_CHECKIN_MESSAGE_BYTES`, through `clientChannelOptions`), so any bundle the server
 * sends is one it can receive.
 */
import * as grpc from '@grpc/grpc-js';
import { MAX_CHECKIN_MESSAGE_BYTES, checkinService, clientChannelOptions, type AgentMessage, type CheckInMsg, type ServerMessage, type SwarmAssignmentMsg, type SwarmFleetMsg } from '../../wire/checkin.js';
import { VigoError } from '../../platform/errors.js';

type Call = grpc.ClientDuplexStream<AgentMessage, ServerMessage>;
interface Waiter {
  resolve: (m: ServerMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

let ClientCtor: grpc.ServiceClientConstructor | undefined;

export interface StreamTls {
  ca: string | Buffer;
  key: string | Buffer;
  cert: string | Buffer;
}

export class CheckinStream {
  private readonly client: grpc.Client & { Stream(): Call };
  private call: Call | undefined;
  private seq = 0;
  private readonly waiters = new Map<number, Waiter>();
  onPush: (reason: string) => void = () => undefined;
  /** the server's swarm assignment for this envoy (sent unasked each time the stream opens) */
  onSwarm: (m: SwarmAssignmentMsg) => void = () => undefined;
  /** the bolt's CA bundle, sent when the envoy's differs (spanner) */
  onTrust: (caBundle: string) => void = () => undefined;
  /** the fleet name map and this envoy's peer hints (sent before the answer when ours are old) */
  onFleet: (m: SwarmFleetMsg) => void = () => undefined;
  onClosed: (err: Error) => void = () => undefined;

  constructor(addr: string, tls: StreamTls, extraOptions: grpc.ChannelOptions = {}) {
    ClientCtor ??= grpc.makeGenericClientConstructor(checkinService(), 'Checkin');
    const creds = grpc.credentials.createSsl(Buffer.from(tls.ca), Buffer.from(tls.key), Buffer.from(tls.cert));
    this.client = new ClientCtor(addr, creds, { ...clientChannelOptions(addr), ...extraOptions }) as unknown as grpc.Client & { Stream(): Call };
  }

  get open(): boolean {
    return this.call !== undefined;
  }

  /** Open the stream if it is not open (the server can push only while it is). */
  connect(): void {
    if (this.call) return;
    const call = this.client.Stream();
    this.call = call;
    call.on('data', (m: ServerMessage) => {
      if (m.checkin_now) return this.onPush(m.checkin_now.reason);
      if (m.swarm) return this.onSwarm(m.swarm);
      if (m.trust && m.seq === 0) return this.onTrust(m.trust.ca_bundle);
      if (m.fleet && m.seq === 0) return this.onFleet(m.fleet);
      const w = this.waiters.get(m.seq);
      if (!w) return;
      this.waiters.delete(m.seq);
      clearTimeout(w.timer);
      w.resolve(m);
    });
    const fail = (e: Error) => {
      if (this.call !== call) return;
      this.call = undefined;
      for (const [k, w] of this.waiters) {
        clearTimeout(w.timer);
        w.reject(e);
        this.waiters.delete(k);
      }
      this.onClosed(e);
    };
    call.on('error', (e: grpc.ServiceError) => {
      const refused = e.code === grpc.status.PERMISSION_DENIED || e.code === grpc.status.UNAUTHENTICATED;
      if (e.code === grpc.status.RESOURCE_EXHAUSTED) {
        // not an unreachable server: a message over the limit (either side logs it); for a
        // run report the agent sends, resending cannot help (service.ts dead-letters it)
        return fail(new VigoError('E_CHECKIN_TOO_LARGE', `a check-in message exceeded the ${MAX_CHECKIN_MESSAGE_BYTES}-byte limit (${e.details || e.message})`));
      }
      // the server refused the message itself (its shape): sending it again cannot help
      const invalid = e.code === grpc.status.INVALID_ARGUMENT;
      fail(new VigoError(refused ? 'E_CHECKIN_REFUSED' : invalid ? 'E_CHECKIN_INVALID' : 'E_CHECKIN', e.details || e.message));
    });
    call.on('end', () => fail(new VigoError('E_CHECKIN', 'server closed the check-in stream')));
  }

  private send(msg: Omit<AgentMessage, 'seq'>, timeoutMs: number): Promise<ServerMessage> {
    this.connect();
    const call = this.call as Call;
    this.seq = (this.seq % 0xfffffffe) + 1;
    const seq = this.seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(seq);
        reject(new VigoError('E_CHECKIN_TIMEOUT', `no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(seq, { resolve, reject, timer });
      call.write({ seq, ...msg });
    });
  }

  /** `swarm`: the traits sha (and the traits when the server lacks them) and the fleet sha held. */
  checkin(policyVersion: number, fingerprint: string, timeoutMs = 10_000, trustSha256 = '', swarm: Pick<CheckInMsg, 'traits_sha256' | 'traits_json' | 'fleet_sha256'> = {}): Promise<ServerMessage> {
    return this.send({ checkin: { policy_version: policyVersion, fingerprint, trust_sha256: trustSha256, ...swarm } }, timeoutMs);
  }

  async sendRun(runId: string, reportJson: string, timeoutMs = 10_000): Promise<void> {
    const m = await this.send({ run: { run_id: runId, report_json: reportJson } }, timeoutMs);
    if (m.run_ack?.run_id !== runId) throw new VigoError('E_CHECKIN', `server acknowledged ${m.run_ack?.run_id ?? 'nothing'} instead of run ${runId}`);
  }

  /** Ask for a fresh client certificate for the key this envoy holds (a CSR for it). */
  async renew(csr: string, timeoutMs = 10_000): Promise<string> {
    const m = await this.send({ renew: { csr } }, timeoutMs);
    if (!m.renewed) throw new VigoError('E_RENEW', 'the server answered a renewal with something else');
    if (m.renewed.error) throw new VigoError('E_RENEW', `the server refused the renewal: ${m.renewed.error}`);
    return m.renewed.cert;
  }

  close(): void {
    const call = this.call;
    this.call = undefined;
    for (const w of this.waiters.values()) {
      clearTimeout(w.timer);
      w.reject(new VigoError('E_CHECKIN', 'stream closed'));
    }
    this.waiters.clear();
    call?.end();
    call?.cancel();
    this.client.close();
  }
}
