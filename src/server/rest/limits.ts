/**
 * What an unauthenticated client can make the REST listener do, bounded: how many
 * connections it may hold, how long a request may take to arrive, how large and how deeply
 * nested a JSON body may be (checked while parsing, before any value is built), and how
 * often a source address may fail to authenticate or enroll before it is cut off — its new
 * connections are closed before the TLS handshake and its requests answered 429 — for
 * `server.rest_block_s`. Failures are logged per source address: the first in each block
 * window, the block itself, and a count of the rest, so a flood cannot flood the log too.
 */
import { plainAddr } from '../../platform/addr.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { parseStrictJson } from '../../trust/index.js';
import fp from './fp.js';
import type { ServerContext } from '../context.js';

/** A request body nested deeper than this is refused (no REST route needs more than 3). */
export const MAX_JSON_DEPTH = 16;
/** Source addresses remembered at once; beyond this the oldest are forgotten. */
const MAX_TRACKED = 10_000;
/** Statuses that mean "this client could not show who it is" (auth) or sent a refused body. */
const FAILURE_STATUSES = new Set([400, 401, 413, 415]);

interface Entry {
  since: number;
  failures: number;
  blockedUntil: number;
  unlogged: number;
}

export class FailureLimiter {
  private readonly byAddr = new Map<string, Entry>();

  constructor(
    private readonly o: { perMinute: number; blockMs: number; log: (m: string) => void; now: () => number },
  ) {}

  blocked(addr: string): boolean {
    const e = this.byAddr.get(addr);
    return e !== undefined && e.blockedUntil > this.o.now();
  }

  /** Seconds until `addr` may try again (for Retry-After). */
  retryAfterS(addr: string): number {
    const e = this.byAddr.get(addr);
    return e ? Math.max(1, Math.ceil((e.blockedUntil - this.o.now()) / 1000)) : 1;
  }

  /** Count one failure from `addr`; `what` says what failed (never a secret). */
  fail(addr: string, what: string): void {
    const now = this.o.now();
    let e = this.byAddr.get(addr);
    if (e === undefined || (now - e.since > 60_000 && e.blockedUntil <= now)) {
      if (e !== undefined && e.unlogged > 0) this.o.log(`REST: ${e.unlogged} more failed request(s) from ${addr} were not logged`);
      e = { since: now, failures: 0, blockedUntil: 0, unlogged: 0 };
      this.byAddr.delete(addr);
      this.byAddr.set(addr, e);
      if (this.byAddr.size > MAX_TRACKED) this.byAddr.delete(this.byAddr.keys().next().value as string);
    }
    e.failures++;
    if (e.failures === 1) this.o.log(`REST: failed request from ${addr}: ${what}`);
    if (this.o.perMinute > 0 && e.failures >= this.o.perMinute && e.blockedUntil <= now) {
      e.blockedUntil = now + this.o.blockMs;
      this.o.log(`REST: blocking ${addr} for ${Math.round(this.o.blockMs / 1000)} s after ${e.failures} failed requests within a minute (last: ${what}); set server.rest_failures_per_min to change this`);
    } else if (e.failures > 1) e.unlogged++;
  }
}

/**
 * What the limiter counts by: an IPv4 address (IPv4-mapped IPv6 included), or an IPv6 /64 —
 * one host usually holds a whole /64, so counting single IPv6 addresses would block nothing.
 */
export function sourceKey(addr: string | undefined): string {
  if (addr === undefined) return 'unknown';
  const plain = plainAddr(addr);
  if (!plain.includes(':')) return plain;
  const [head = '', tail] = addr.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

const addrOf = (req: FastifyRequest): string => sourceKey(req.socket.remoteAddress);

/**
 * REST server timeouts (fastify options): a socket idle for a minute is closed, a request
 * must arrive whole within 30 s. Keep-alive stays at fastify's 72 s: longer than clients'
 * idle timeouts (Node's agent: 5 s), so a client never reuses a socket the server is closing.
 */
export const REST_TIMEOUTS = { connectionTimeout: 60_000, requestTimeout: 30_000 } as const;

export const limitsPlugin = fp(async (app: FastifyInstance, ctx: ServerContext) => {
  const limiter = new FailureLimiter({ perMinute: ctx.config.server.rest_failures_per_min, blockMs: ctx.config.server.rest_block_s * 1000, log: ctx.log, now: ctx.now });
  app.server.maxConnections = ctx.config.server.rest_max_connections;
  // A blocked address costs no TLS handshake, not even a TLS socket: its connections are
  // closed as they are accepted, before the TLS server's own listener sees them.
  const tlsListeners = app.server.listeners('connection') as ((sock: Socket) => void)[];
  app.server.removeAllListeners('connection');
  app.server.on('connection', (sock: Socket) => {
    if (limiter.blocked(sourceKey(sock.remoteAddress))) {
      sock.destroy();
      return;
    }
    for (const l of tlsListeners) l.call(app.server, sock);
  });

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const addr = addrOf(req);
    if (!limiter.blocked(addr)) return;
    await reply
      .code(429)
      .header('retry-after', String(limiter.retryAfterS(addr)))
      .header('connection', 'close')
      .send({ message: `too many failed requests from ${addr}; try again in ${limiter.retryAfterS(addr)} s` });
  });

  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const status = reply.statusCode;
    // a client that authenticated and then got a 400 made a mistake, not an attack
    if (!FAILURE_STATUSES.has(status) || (status !== 401 && req.principal)) return payload;
    let message = '';
    if (typeof payload === 'string') {
      try {
        message = String((JSON.parse(payload) as { message?: unknown }).message ?? '');
      } catch {
        /* not ours */
      }
    }
    limiter.fail(addrOf(req), `${req.method} ${req.url.split('?')[0]} → ${status}${message ? ` (${message.slice(0, 160)})` : ''}`);
    return payload;
  });

  // JSON bodies: size and depth are checked while parsing, before any value is built
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, parseStrictJson(text, { maxBytes: req.routeOptions.bodyLimit ?? ctx.config.server.body_limit_bytes, maxDepth: MAX_JSON_DEPTH, what: 'request body' }));
    } catch (e) {
      done(Object.assign(new Error(e instanceof Error ? e.message : String(e)), { statusCode: 400 }), undefined);
    }
  });
});
