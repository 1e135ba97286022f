/**
 * Forwarding of per-bolt admin requests, as one hook for every route: any request for
 * `/api/v1/spanner/bolts/{id}[/…]` (show, envoys, runs, push, drain, …) and POST
 * `/api/v1/spanner/reassign` (owned by its body's `from` bolt) that reaches a bolt other
 * than its owner is carried to the owner as a signed forwarded call (spanner/forward.ts),
 * and the owner's status and body are answered as they are. Handlers never see it: the
 * owner runs them as the admin the forwarding bolt vouches for. A forwarded call is never
 * forwarded again. Route plugins that serve such paths must be registered after this one.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { VigoError } from '../../platform/errors.js';
import { ANSWERED_BY_HEADER, FORWARD_MS_HEADER, SPANNER_STATUS, isForwarded, type Bolt } from '../../spanner/index.js';
import { rolesFor } from './auth.js';
import fp from './fp.js';
import { isForwardablePath, ownerOf } from './forward-paths.js';

const refuse = (reply: FastifyReply, status: number, code: string, message: string): FastifyReply => reply.code(status).send({ message, code });

/** A forwarded call arriving here: verified, then run as the admin the sender vouches for. */
function acceptForwarded(ctx: ServerContext, b: Bolt | null, req: FastifyRequest, reply: FastifyReply, owner: string | null): FastifyReply | undefined {
  if (b === null) return refuse(reply, 401, 'E_FORWARD_NOT_LIVE', 'forwarded call: this server is standalone');
  const c = b.checkForwarded(req.headers, req.method, req.url, req.body);
  if (!c.ok) {
    ctx.log(`refused a forwarded ${req.method} ${req.url.split('?')[0]}: ${c.code} ${c.message}`);
    return refuse(reply, c.code === 'E_FORWARD_BUSY' ? 503 : 401, c.code, c.message);
  }
  // never forwarded again: a bolt answers only what is its own
  if (owner !== b.boltId) return refuse(reply, 409, 'E_FORWARD_LOOP', `forwarded call from ${c.fromBolt} for bolt '${owner ?? '?'}' reached ${b.boltId}: a forwarded call is never forwarded again (the rosters disagree; check \`vigocli spanner bolt list\` on both)`);
  req.principal = { hash: '', name: `${c.admin.name}@${c.fromBolt}`, role: c.admin.role, created_at: 0, expires_at: null, revoked: 0 };
  const cfg = req.routeOptions.config;
  const allowed = rolesFor(req.method, cfg?.roles, cfg?.adminOnly);
  if (!allowed.includes(c.admin.role)) return refuse(reply, 403, 'E_FORBIDDEN', `role '${c.admin.role}' may not ${req.method} ${req.routeOptions.url ?? req.url} (needs ${allowed.join(' or ')})`);
  return undefined;
}

export const forwardPlugin = fp(async (app: FastifyInstance, ctx: ServerContext) => {
  app.addHook('preHandler', async (req, reply) => {
    if (!isForwardablePath(req.url)) return;
    const b = ctx.spanner;
    const owner = ownerOf(req.method, req.url, req.body);
    // URL parsing would resolve dot segments (`..`, `%2e%2e`) and send another path than the one checked here
    if (req.url.split('?')[0]!.split('/').some((seg) => /^(\.|%2e){1,2}$/i.test(seg))) return refuse(reply, 400, 'E_BAD_PATH', `${req.url.split('?')[0]}: a path with . or .. segments is not forwarded`);
    if (isForwarded(req.headers)) return acceptForwarded(ctx, b, req, reply, owner);
    if (b === null || owner === null) return; // standalone, or no owner named: the handler answers
    let route: ReturnType<Bolt['routeTo']>;
    try {
      route = b.routeTo(owner);
    } catch (e) {
      if (e instanceof VigoError && SPANNER_STATUS[e.code] !== undefined) return refuse(reply, SPANNER_STATUS[e.code]!, e.code, e.hint ? `${e.message} (${e.hint})` : e.message);
      throw e;
    }
    if (route.kind === 'self') return;
    if (route.kind === 'unknown') return refuse(reply, 404, 'E_BOLT_UNKNOWN', `no bolt '${owner}' in this spanner's roster (see \`vigocli spanner bolt list\`)`);
    if (route.kind !== 'live') return refuse(reply, 409, 'E_BOLT_UNROUTABLE', `bolt '${owner}' is ${route.kind === 'revoked' ? 'revoked' : 'not admitted yet'}: it is unroutable for admin queries`);
    const p = req.principal;
    if (p === null) return refuse(reply, 401, 'E_FORWARD_NO_ADMIN', 'forwarding needs an authenticated admin');
    const t0 = performance.now();
    try {
      const r = await b.forward<unknown>(route.peer, req.method, req.url, req.body, { name: p.name, role: p.role });
      return reply
        .code(r.status)
        .header(ANSWERED_BY_HEADER, owner)
        .header(FORWARD_MS_HEADER, (performance.now() - t0).toFixed(1))
        .send(r.body);
    } catch (e) {
      if (e instanceof VigoError && e.code === 'E_FORWARD_TOO_LARGE') return refuse(reply, 413, e.code, e.message);
      const why = e instanceof Error ? e.message : String(e);
      ctx.log(`forwarding ${req.method} ${req.url.split('?')[0]} to bolt ${owner} at ${route.peer.addr} failed: ${why}`);
      return refuse(reply, 502, 'E_BOLT_UNREACHABLE', `bolt '${owner}' at ${route.peer.addr} did not answer: ${why} (is it running? \`vigocli spanner status\` shows each bolt's health)`);
    }
  });
});
