/**
 * The swarm peer client: one call to another envoy's transport, under one deadline that
 * covers connect, handshake, request and the whole response.
 *
 * It presents this envoy's certificate, and before it writes anything it checks that the
 * server's certificate was issued to an envoy by this fleet's CA and names the envoy id the
 * caller expected (transport-identity.ts says why the chain is checked there rather than by
 * OpenSSL). The TLS socket is opened and verified first and only then handed to
 * node:https, so no header or body byte can reach an impostor.
 */
import { connect, type TLSSocket } from 'node:tls';
import { request, type IncomingHttpHeaders } from 'node:http';
import { Readable, type Writable } from 'node:stream';
import { VigoError } from '../platform/errors.js';
import { verifyEnvoyCertificate, PeerCertError } from './transport-identity.js';
import { DEFAULT_SWARM_PORT, type SwarmIdentity } from './transport.js';

export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

export interface SwarmCall {
  identity: SwarmIdentity;
  host: string;
  /** default 1531 */
  port?: number;
  /** the source address to connect from (a multi-homed host, tests on 127.0.0.N) */
  localAddress?: string;
  /**
   * the envoy id the peer's certificate must name (discovery nominated it; TLS proves it);
   * null: any envoy of this fleet (an operator-listed address such as a cross_subnet_members
   * entry, whose id is learned from `SwarmReply.peerEnvoyId`, never from what the peer says)
   */
  expectEnvoyId: string | null;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** path and query */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
  /** the whole call must finish within this many ms (required: every socket call has one) */
  deadlineMs: number;
  /** response bytes buffered at most (default 16 MiB); with `sink`, bytes written at most */
  maxResponseBytes?: number;
  /** when given, a 2xx response body is written here instead of being buffered */
  sink?: Writable;
  signal?: AbortSignal;
  /** for the certificate validity check; default Date.now */
  nowMs?: () => number;
}

export interface SwarmReply {
  status: number;
  headers: IncomingHttpHeaders;
  /** the buffered body (empty when it went to `sink`) */
  body: Buffer;
  /** the peer's envoy id, as its certificate names it */
  peerEnvoyId: string;
  /** `{ error: { code, message } }` of a non-2xx JSON answer, else null */
  error: { code: string; message: string } | null;
}

/** Parse a reply body as JSON, naming the peer and path when it is not. */
export function replyJson<T>(r: SwarmReply, what: string): T {
  try {
    return JSON.parse(r.body.toString('utf8')) as T;
  } catch {
    throw new VigoError('E_SWARM_REPLY', `${what}: envoy ${r.peerEnvoyId} answered ${r.status} with a body that is not JSON`);
  }
}

function errorOf(status: number, headers: IncomingHttpHeaders, body: Buffer): SwarmReply['error'] {
  if (status < 300 || !String(headers['content-type'] ?? '').startsWith('application/json')) return null;
  try {
    const j = JSON.parse(body.toString('utf8')) as { error?: { code?: unknown; message?: unknown } };
    if (typeof j.error?.code === 'string') return { code: j.error.code, message: typeof j.error.message === 'string' ? j.error.message : '' };
  } catch {
    /* not our error shape */
  }
  return null;
}

/** Make one call. Non-2xx answers resolve (with `error`); transport failures reject with a VigoError. */
export function swarmCall(c: SwarmCall): Promise<SwarmReply> {
  const port = c.port ?? DEFAULT_SWARM_PORT;
  const where = `envoy ${c.expectEnvoyId ?? '(any of this fleet)'} at ${c.host}:${port}`;
  const limit = c.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  if (!(c.deadlineMs > 0)) return Promise.reject(new VigoError('E_USAGE', 'swarmCall: deadlineMs must be positive'));
  return new Promise<SwarmReply>((resolve, reject) => {
    let done = false;
    let sock: TLSSocket | null = null;
    const finish = (e: Error | null, r?: SwarmReply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      c.signal?.removeEventListener('abort', onAbort);
      if (e) {
        sock?.destroy();
        reject(e);
      } else resolve(r as SwarmReply);
    };
    const timer = setTimeout(() => finish(new VigoError('E_SWARM_DEADLINE', `${where}: ${c.method} ${c.path} did not complete within ${c.deadlineMs} ms`, { hint: 'the peer is unreachable or overloaded; it is tried again later' })), c.deadlineMs);
    const onAbort = () => finish(new VigoError('E_SWARM_ABORTED', `${where}: ${c.method} ${c.path} aborted`));
    if (c.signal?.aborted) return onAbort();
    c.signal?.addEventListener('abort', onAbort, { once: true });

    sock = connect({
      host: c.host,
      port,
      ...(c.localAddress !== undefined ? { localAddress: c.localAddress } : {}),
      cert: c.identity.cert,
      key: c.identity.key,
      ca: [c.identity.ca],
      // verified below, before anything is written (see transport-identity.ts)
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    });
    sock.once('error', (e: NodeJS.ErrnoException) => finish(new VigoError('E_SWARM_CONNECT', `${where}: ${e.code ?? e.message}`, { hint: 'check that the peer runs its swarm transport and that the address is right' })));
    sock.once('secureConnect', () => {
      const s = sock as TLSSocket;
      let peerId: string;
      try {
        const cert = s.getPeerCertificate();
        if (!cert.raw) throw new PeerCertError('E_PEER_UNTRUSTED', 'the peer presented no certificate');
        peerId = verifyEnvoyCertificate(cert.raw, c.identity.ca, (c.nowMs ?? Date.now)());
      } catch (e) {
        return finish(new VigoError(e instanceof PeerCertError ? `E_SWARM_${e.code.slice(2)}` : 'E_SWARM_PEER_UNTRUSTED', `${where}: ${e instanceof Error ? e.message : String(e)}`, { hint: 'the address does not belong to an envoy of this fleet; nothing was sent' }));
      }
      if (c.expectEnvoyId !== null && peerId !== c.expectEnvoyId) {
        return finish(new VigoError('E_SWARM_PEER_MISMATCH', `${where}: the certificate there names envoy ${peerId}, not the one expected; nothing was sent`, { hint: 'discovery nominated a stale or spoofed address; it is dropped' }));
      }
      const body = c.body;
      // keep-alive, though the socket is ended after this one call: with `connection: close`
      // the server shuts its side as soon as it answers, and an answer sent before the body
      // is all out (a 413) would reach this client as EPIPE instead of being read
      const headers: Record<string, string | number> = { ...c.headers, host: 'swarm', connection: 'keep-alive' };
      if (body !== undefined && !(body instanceof Readable)) headers['content-length'] = Buffer.byteLength(body);
      // An answer that arrives while the body is still being sent (a 413, a refusal from the
      // JSON line) is the outcome: stop sending, and let no later EPIPE or reset hide it.
      let answered: { status: number; headers: IncomingHttpHeaders; chunks: Buffer[] } | null = null;
      const req = request({ method: c.method, path: c.path, headers, createConnection: () => s }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
        const toSink = ok && c.sink !== undefined;
        if (!ok) {
          answered = { status: res.statusCode ?? 0, headers: res.headers, chunks };
          if (body instanceof Readable) {
            body.unpipe(req);
            body.destroy(); // what it still held (an open bundle file) is not needed
            req.end();
          }
        }
        res.on('data', (d: Buffer) => {
          if (done) return; // past the deadline or the cap: the caller may have closed its sink
          size += d.length;
          if (size > limit) return finish(new VigoError('E_SWARM_REPLY_TOO_LARGE', `${where}: ${c.method} ${c.path} answered more than ${limit} bytes`));
          if (toSink) {
            if (!(c.sink as Writable).write(d)) {
              res.pause();
              (c.sink as Writable).once('drain', () => res.resume());
            }
          } else chunks.push(d);
        });
        res.on('error', (e) => (answered !== null ? finishAnswered() : finish(new VigoError('E_SWARM_CONNECT', `${where}: response cut: ${e.message}`))));
        res.once('aborted', () => answered !== null && finishAnswered());
        res.once('end', () => {
          const status = res.statusCode ?? 0;
          const data = Buffer.concat(chunks);
          finish(null, { status, headers: res.headers, body: data, peerEnvoyId: peerId, error: errorOf(status, res.headers, data) });
          s.end();
        });
      });
      // the connection cut after a refusal began: its status (and what came of its body) is the answer
      const finishAnswered = (): void => {
        const a = answered!;
        const data = Buffer.concat(a.chunks);
        finish(null, { status: a.status, headers: a.headers, body: data, peerEnvoyId: peerId, error: errorOf(a.status, a.headers, data) ?? { code: `E_HTTP_${a.status}`, message: `answered ${a.status}, then closed the connection` } });
        s.destroy();
      };
      req.on('error', (e: NodeJS.ErrnoException) => {
        // EPIPE / reset while still sending: if the peer answered, wait for that answer's end
        if (answered !== null) return;
        finish(new VigoError('E_SWARM_CONNECT', `${where}: ${e.code ?? e.message}`));
      });
      if (body instanceof Readable) body.pipe(req);
      else req.end(body);
    });
  });
}
