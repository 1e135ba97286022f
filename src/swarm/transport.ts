/**
 * The swarm peer server: HTTPS with mutual TLS on port 1531 (issue 11 item 1, SYSTEM.md §8).
 *
 * It presents the envoy's enrollment certificate and accepts only clients whose certificate
 * chains to the fleet CA the envoy enrolled under (OpenSSL verifies: `requestCert`,
 * `rejectUnauthorized`, `ca` = that CA alone, so a certificate from any other CA, or none,
 * is refused in the handshake). The peer is the envoy id in that verified certificate —
 * never a header, a path or a body field.
 *
 * node:https (HTTP/1.1) rather than node:http2: one request per connection at a time makes
 * the per-peer concurrency limit, the body limit and the time limit plain to enforce and to
 * test (http2 multiplexes streams that each need the same limits, plus flow-control and
 * SETTINGS floods of its own); swarm traffic is a few large requests (bundles) per peer, not
 * many small ones, so multiplexing buys little.
 *
 * Limits on every endpoint: the handshake and the request headers within
 * `headersTimeoutMs`; then body, handler and response within the route's
 * `requestTimeoutMs`; a body limit (413); at most `perPeerConcurrency` requests in flight
 * per envoy id (429); at most `maxConnections` open connections, `maxConnectionsPerAddress`
 * of them from one address (more are closed at once).
 * Every error is JSON: `{ "error": { "code", "message" } }`.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { Readable, Transform, pipeline } from 'node:stream';
import { VigoError } from '../platform/errors.js';
import { envoyIdOf, PeerCertError } from './transport-identity.js';

export const DEFAULT_SWARM_PORT = 1531;
/** After a 413, how long the rest of the body is read and dropped so the sender can read the answer. */
export const DRAIN_AFTER_REFUSAL_MS = 5000;

/** The envoy's enrollment material (`readIdentity()` in src/agent/checkin/identity.ts). */
export interface SwarmIdentity {
  /** envoy.crt, PEM */
  cert: string;
  /** envoy.key, PEM */
  key: string;
  /** ca.crt: the fleet CA the envoy enrolled under; the only CA peers may chain to */
  ca: string;
}

export interface SwarmLimits {
  /** request body cap in bytes (413 above it) */
  bodyLimitBytes: number;
  /** TLS handshake plus request headers, from the first byte */
  headersTimeoutMs: number;
  /** body + handler + response, from the end of the headers */
  requestTimeoutMs: number;
  /** requests in flight per peer envoy id (429 above it) */
  perPeerConcurrency: number;
  /** open connections in total (more are closed at accept) */
  maxConnections: number;
  /** open connections from one source address, handshake or not (more are closed at accept) */
  maxConnectionsPerAddress: number;
}

export const DEFAULT_SWARM_LIMITS: SwarmLimits = {
  bodyLimitBytes: 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  perPeerConcurrency: 4,
  maxConnections: 256,
  maxConnectionsPerAddress: 32,
};

/** Per-route overrides (a bundle endpoint takes more bytes and more time than a digest). */
export interface RouteLimits {
  bodyLimitBytes?: number;
  requestTimeoutMs?: number;
  /** 'buffer' (default): `req.body` holds the whole body; 'stream': `req.stream` yields it, capped */
  body?: 'buffer' | 'stream';
}

/** The verified peer: who it is comes from its certificate only. */
export interface SwarmPeer {
  envoyId: string;
  /** the certificate's SHA-256 fingerprint, lowercase hex */
  certSha256: string;
  address: string;
  port: number;
}

export interface SwarmRequest {
  method: string;
  /** the path without the query */
  path: string;
  /** `:name` segments of the route pattern, percent-decoded */
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** the whole body (empty in 'stream' mode) */
  body: Buffer;
  /** the body as a stream in 'stream' mode (errors with E_BODY_TOO_LARGE past the limit), else null */
  stream: Readable | null;
  /** aborted when the time limit passes or the peer goes away */
  signal: AbortSignal;
}

export interface SwarmResponse {
  status: number;
  headers?: Record<string, string>;
  /** a Buffer or string is sent as is; anything else as JSON */
  body?: unknown;
  stream?: Readable;
}

export type SwarmHandler = (peer: SwarmPeer, req: SwarmRequest) => Promise<SwarmResponse> | SwarmResponse;

/** What a handler throws to answer an error: `{ error: { code, message } }` with `status`. */
export class SwarmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'SwarmError';
  }
}

export interface SwarmTransportOptions {
  identity: SwarmIdentity;
  /** listen address, default 0.0.0.0 */
  host?: string;
  /** default 1531; 0 picks a free port */
  port?: number;
  limits?: Partial<SwarmLimits>;
  log?: (line: string) => void;
}

export interface SwarmTransportStats {
  connections: number;
  /** requests in flight per peer envoy id */
  inFlight: Record<string, number>;
  /** handshakes refused (no certificate, another CA, bad TLS) */
  tlsRefused: number;
  /** requests answered 429 because the peer was at its concurrency limit */
  busyRefused: number;
  /** connections closed at accept because their address had maxConnectionsPerAddress open */
  addressRefused: number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface Route {
  method: Method;
  segments: string[];
  handler: SwarmHandler;
  limits: Required<Omit<RouteLimits, 'body'>> & { body: 'buffer' | 'stream' };
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

export class SwarmTransport {
  readonly limits: SwarmLimits;
  private readonly server: Server;
  private readonly routes: Route[] = [];
  private readonly inFlight = new Map<string, number>();
  private readonly sockets = new Set<Socket>();
  private readonly perAddress = new Map<string, number>();
  private addressRefused = 0;
  private tlsRefused = 0;
  private busyRefused = 0;
  private readonly log: (line: string) => void;

  constructor(private readonly o: SwarmTransportOptions) {
    const limits = { ...DEFAULT_SWARM_LIMITS, ...o.limits };
    for (const [k, v] of Object.entries(limits)) {
      if (!Number.isInteger(v) || v <= 0) throw new VigoError('E_CONFIG', `swarm transport: limit ${k} must be a positive integer (got ${String(v)})`);
    }
    this.limits = limits;
    this.log = o.log ?? (() => {});
    this.server = createServer({
      cert: o.identity.cert,
      key: o.identity.key,
      ca: [o.identity.ca],
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      handshakeTimeout: limits.headersTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: this.requestBackstopMs(),
      // Node checks header/request timeouts on this interval (30 s by default)
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
      maxHeaderSize: 16 * 1024,
    });
    this.server.maxConnections = limits.maxConnections;
    // counted before the handshake: anyone can open TCP connections, and one address
    // holding half-open handshakes must not fill the total for the whole fleet
    this.server.on('connection', (s: Socket) => {
      const from = s.remoteAddress ?? '?';
      const n = this.perAddress.get(from) ?? 0;
      if (n >= limits.maxConnectionsPerAddress) {
        this.addressRefused++;
        s.destroy();
        return;
      }
      this.perAddress.set(from, n + 1);
      this.sockets.add(s);
      s.once('close', () => {
        this.sockets.delete(s);
        const left = (this.perAddress.get(from) ?? 1) - 1;
        if (left <= 0) this.perAddress.delete(from);
        else this.perAddress.set(from, left);
      });
    });
    this.server.on('tlsClientError', (e: NodeJS.ErrnoException, s: TLSSocket) => {
      this.tlsRefused++;
      this.log(`swarm: refused a TLS connection from ${s.remoteAddress ?? '?'}: ${e.code ?? e.message}`);
      // with a listener here Node leaves the socket open: close it (handshake timeouts too)
      s.destroy();
    });
    this.server.on('clientError', (e: NodeJS.ErrnoException, s: Socket) => this.onClientError(e, s));
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => void this.onRequest(req, res));
  }

  /** Register a handler; `pattern` is a path whose `:name` segments match one segment each. */
  route(method: Method, pattern: string, handler: SwarmHandler, limits: RouteLimits = {}): this {
    if (!pattern.startsWith('/')) throw new VigoError('E_USAGE', `swarm route ${pattern}: must start with /`);
    const segments = pattern.split('/').slice(1);
    if (this.routes.some((r) => r.method === method && r.segments.join('/') === segments.join('/'))) throw new VigoError('E_USAGE', `swarm route ${method} ${pattern} is registered twice`);
    const l = {
      bodyLimitBytes: limits.bodyLimitBytes ?? this.limits.bodyLimitBytes,
      requestTimeoutMs: limits.requestTimeoutMs ?? this.limits.requestTimeoutMs,
      body: limits.body ?? 'buffer',
    };
    if (!(l.bodyLimitBytes > 0) || !(l.requestTimeoutMs > 0)) throw new VigoError('E_USAGE', `swarm route ${method} ${pattern}: limits must be positive`);
    this.routes.push({ method, segments, handler, limits: l });
    this.server.requestTimeout = this.requestBackstopMs();
    return this;
  }

  /** Start listening; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) => reject(new VigoError('E_SWARM_LISTEN', `swarm transport: cannot listen on ${this.o.host ?? '0.0.0.0'}:${this.o.port ?? DEFAULT_SWARM_PORT}: ${e.message}`, { hint: 'pick another swarm listen address or port, or stop what holds it' }));
      this.server.once('error', onError);
      this.server.listen(this.o.port ?? DEFAULT_SWARM_PORT, this.o.host ?? '0.0.0.0', () => {
        this.server.off('error', onError);
        resolve(this.address());
      });
    });
  }

  address(): { host: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new VigoError('E_SWARM_LISTEN', 'swarm transport is not listening');
    return { host: a.address, port: a.port };
  }

  /** After a certificate renewal: new handshakes present the new certificate. */
  updateIdentity(identity: SwarmIdentity): void {
    this.server.setSecureContext({ cert: identity.cert, key: identity.key, ca: [identity.ca] });
  }

  stats(): SwarmTransportStats {
    return { connections: this.sockets.size, inFlight: Object.fromEntries(this.inFlight), tlsRefused: this.tlsRefused, busyRefused: this.busyRefused, addressRefused: this.addressRefused };
  }

  /** Stop accepting, and close every open connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  /** Node's own request timeout backs ours up; it must not fire first. */
  private requestBackstopMs(): number {
    const longest = Math.max(this.limits.requestTimeoutMs, ...this.routes.map((r) => r.limits.requestTimeoutMs));
    return this.limits.headersTimeoutMs + longest + 5000;
  }

  /** Errors before a request exists (slow headers, malformed HTTP): answer JSON, close. */
  private onClientError(e: NodeJS.ErrnoException, s: Socket): void {
    const pending = (s as Socket & { _httpMessage?: ServerResponse })._httpMessage;
    if (e.code === 'ECONNRESET' || !s.writable || (pending && pending.headersSent)) {
      s.destroy();
      return;
    }
    const [status, reason, code, message] =
      e.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'E_TIMEOUT', `request headers not received within ${this.limits.headersTimeoutMs} ms`]
        : e.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', 'E_HEADERS_TOO_LARGE', 'request headers exceed 16 KiB']
          : [400, 'Bad Request', 'E_BAD_REQUEST', `malformed HTTP request (${e.code ?? 'parse error'})`];
    const body = errorBody(code, message);
    s.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    setTimeout(() => s.destroy(), 1000).unref();
  }

  private match(method: string, path: string): { route: Route; params: Record<string, string> } | 'wrong-method' | null {
    const parts = path.split('/').slice(1);
    let wrongMethod = false;
    for (const r of this.routes) {
      if (r.segments.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const seg = r.segments[i] as string;
        const part = parts[i] as string;
        if (seg.startsWith(':')) {
          try {
            params[seg.slice(1)] = decodeURIComponent(part);
          } catch {
            ok = false;
          }
          ok = ok && part !== '';
        } else ok = seg === part;
      }
      if (!ok) continue;
      if (r.method !== method) {
        wrongMethod = true;
        continue;
      }
      return { route: r, params };
    }
    return wrongMethod ? 'wrong-method' : null;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sock = req.socket as TLSSocket;
    const fail = (status: number, code: string, message: string) => {
      if (res.headersSent || res.destroyed) {
        res.destroy();
        return;
      }
      const body = errorBody(code, message);
      if (status === 413) {
        // The sender is still writing: closing now would reset the connection, and a reset
        // discards the answer before the sender reads it (it would see EPIPE and send the
        // same body again). Read and drop the rest instead — nothing is kept — until the
        // sender, having read this, ends its request, or for at most DRAIN_AFTER_REFUSAL_MS.
        req.unpipe();
        req.removeAllListeners('data');
        req.resume();
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body, () => setTimeout(() => sock.destroy(), DRAIN_AFTER_REFUSAL_MS).unref());
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close' });
      // the rest of the request body is not read: close once the answer is out
      res.end(body, () => setTimeout(() => sock.destroy(), 1000).unref());
    };

    let peer: SwarmPeer;
    try {
      const cert = sock.getPeerCertificate();
      if (!sock.authorized || !cert.raw) throw new PeerCertError('E_PEER_UNTRUSTED', 'peer certificate not verified');
      peer = { envoyId: envoyIdOf(cert.raw), certSha256: cert.fingerprint256.replace(/:/g, '').toLowerCase(), address: sock.remoteAddress ?? '', port: sock.remotePort ?? 0 };
    } catch (e) {
      return fail(403, e instanceof PeerCertError ? e.code : 'E_PEER_UNTRUSTED', e instanceof Error ? e.message : String(e));
    }

    const url = new URL(req.url ?? '/', 'https://peer');
    const found = this.match(req.method ?? 'GET', url.pathname);
    if (found === null) return fail(404, 'E_NOT_FOUND', `no swarm endpoint ${url.pathname}`);
    if (found === 'wrong-method') return fail(405, 'E_METHOD', `${req.method ?? '?'} is not allowed on ${url.pathname}`);
    const { route, params } = found;

    const busy = this.inFlight.get(peer.envoyId) ?? 0;
    if (busy >= this.limits.perPeerConcurrency) {
      this.busyRefused++;
      return fail(429, 'E_PEER_BUSY', `envoy ${peer.envoyId} already has ${busy} requests in flight (limit ${this.limits.perPeerConcurrency}); retry when one finishes`);
    }
    this.inFlight.set(peer.envoyId, busy + 1);
    // the slot is held until the handler has settled AND the response is over: a peer that
    // hangs up does not free it while its handler still works (abort asks the handler to stop)
    let holds = 2;
    const releaseHold = () => {
      if (--holds > 0) return;
      const n = (this.inFlight.get(peer.envoyId) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(peer.envoyId);
      else this.inFlight.set(peer.envoyId, n);
    };
    const abort = new AbortController();
    const timer = setTimeout(() => {
      this.log(`swarm: ${req.method ?? '?'} ${url.pathname} from envoy ${peer.envoyId} cut at ${route.limits.requestTimeoutMs} ms`);
      abort.abort(new SwarmError(408, 'E_TIMEOUT', 'time limit passed'));
      fail(408, 'E_TIMEOUT', `request not completed within ${route.limits.requestTimeoutMs} ms`);
    }, route.limits.requestTimeoutMs);
    res.once('close', () => {
      clearTimeout(timer);
      abort.abort(new SwarmError(499, 'E_PEER_GONE', 'the response is over or the peer hung up'));
      releaseHold();
    });

    const limit = route.limits.bodyLimitBytes;
    const declared = Number(req.headers['content-length'] ?? '0');
    const tooLarge = () => new SwarmError(413, 'E_BODY_TOO_LARGE', `request body exceeds ${limit} bytes`);
    try {
      if (Number.isFinite(declared) && declared > limit) throw tooLarge();
      let body: Buffer = Buffer.alloc(0);
      let stream: Readable | null = null;
      if (route.limits.body === 'stream') {
        let seen = 0;
        const cap = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            seen += chunk.length;
            if (seen > limit) cb(tooLarge());
            else cb(null, chunk);
          },
        });
        stream = cap;
        // Not pipeline(): on the cap's error it would destroy `req`, and with it the socket,
        // before the 413 is written; the sender would see EPIPE and retry the same body for
        // ever. Stop reading instead, answer, and close once the answer is out (fail()).
        req.pipe(cap);
        cap.once('error', () => req.unpipe(cap));
        req.on('error', (e) => cap.destroy(e));
        req.once('aborted', () => cap.destroy(new SwarmError(499, 'E_PEER_GONE', 'the peer hung up during the body')));
      } else {
        body = await readCapped(req, limit, tooLarge, abort.signal);
      }
      const answer = await route.handler(peer, { method: req.method ?? 'GET', path: url.pathname, params, query: url.searchParams, headers: req.headers, body, stream, signal: abort.signal });
      if (abort.signal.aborted) return;
      this.send(res, answer);
    } catch (e) {
      if (abort.signal.aborted && !(e instanceof SwarmError && e.status === 413)) return;
      if (e instanceof SwarmError) return fail(e.status, e.code, e.message);
      if (e instanceof VigoError) return fail(400, e.code, e.message);
      this.log(`swarm: ${req.method ?? '?'} ${url.pathname} from envoy ${peer.envoyId} failed: ${e instanceof Error ? e.message : String(e)}`);
      return fail(500, 'E_INTERNAL', 'the peer failed to handle this request; see its log');
    } finally {
      releaseHold();
    }
  }

  private send(res: ServerResponse, a: SwarmResponse): void {
    if (!Number.isInteger(a.status) || a.status < 100 || a.status > 599) throw new Error(`swarm handler answered status ${String(a.status)}`);
    const headers: Record<string, string | number> = { ...a.headers };
    if (a.stream) {
      res.writeHead(a.status, { 'content-type': 'application/octet-stream', ...headers });
      pipeline(a.stream, res, (e) => {
        if (e) res.destroy();
      });
      return;
    }
    let data: Buffer;
    let type: string;
    if (Buffer.isBuffer(a.body)) [data, type] = [a.body, 'application/octet-stream'];
    else if (typeof a.body === 'string') [data, type] = [Buffer.from(a.body), 'text/plain; charset=utf-8'];
    else if (a.body === undefined) [data, type] = [Buffer.alloc(0), 'application/octet-stream'];
    else [data, type] = [Buffer.from(JSON.stringify(a.body)), 'application/json'];
    res.writeHead(a.status, { 'content-type': type, ...headers, 'content-length': data.length });
    res.end(data);
  }
}

function readCapped(req: IncomingMessage, limit: number, tooLarge: () => Error, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new SwarmError(408, 'E_TIMEOUT', 'time limit passed'));
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.pause();
        req.removeAllListeners('data');
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => {
      signal.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(chunks));
    });
    req.once('error', reject);
  });
}
