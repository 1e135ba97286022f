/**
 * Authentication and roles for every REST route. A bearer `vgot_…` token is looked up by
 * its SHA-256. Reads are open to admin and viewer (and to compliance where a route says
 * so); writes need admin. Routes that authenticate otherwise (enrollment presents a
 * one-time token in its body) say `config: { auth: 'enroll-token' }`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from './fp.js';
import { apiTokenId, checkApiToken, tokenHash, listApiTokens, mintApiToken, revokeApiToken, ROLES, type ApiTokenRow, type Role } from '../tokens.js';
import type { ServerContext } from '../context.js';
import { isForwarded } from '../../spanner/index.js';
import { isForwardablePath } from './forward-paths.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: ApiTokenRow | null;
  }
  interface FastifyContextConfig {
    /** the route authenticates itself: an enrollment token in its body, or a bolt's signature (spanner) */
    auth?: 'enroll-token' | 'bolt';
    /** extra roles allowed beyond the default (reads: admin, viewer; writes: admin) */
    roles?: Role[];
    /** admin only, reads included (what a viewer must not see) */
    adminOnly?: boolean;
  }
}

export function rolesFor(method: string, extra: Role[] = [], adminOnly = false): Role[] {
  if (adminOnly) return ['admin'];
  const base: Role[] = method === 'GET' || method === 'HEAD' ? ['admin', 'viewer'] : ['admin'];
  return [...base, ...extra];
}

async function authenticate(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  req.principal = null;
  const cfg = req.routeOptions.config;
  if (cfg?.auth === 'enroll-token' || cfg?.auth === 'bolt') return;
  // a forwarded per-bolt call carries a bolt's signature, not a token: spanner-forward.ts checks it once the body is read
  if (isForwarded(req.headers) && isForwardablePath(req.url)) return;
  const h = req.headers.authorization;
  const token = h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
  if (!token) {
    await reply.code(401).send({ message: 'authentication required: send Authorization: Bearer vgot_… (see `vigocli auth login`)' });
    return;
  }
  const r = checkApiToken(ctx.db, token, Math.floor(ctx.now() / 1000));
  if (!r.ok) {
    await reply.code(401).send({ message: r.message });
    return;
  }
  req.principal = r.row;
  const allowed = rolesFor(req.method, cfg?.roles, cfg?.adminOnly);
  if (!allowed.includes(r.row.role)) {
    await reply.code(403).send({ message: `role '${r.row.role}' may not ${req.method} ${req.routeOptions.url ?? req.url} (needs ${allowed.join(' or ')})` });
  }
}

const apiTokenIdOf = (token: string): string => apiTokenId({ hash: tokenHash(token) });

export const authPlugin = fp(async (app: FastifyInstance, ctx: ServerContext) => {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', (req, reply) => authenticate(ctx, req, reply));

  app.get('/api/v1/auth/whoami', { config: { roles: ['compliance'] } }, async (req) => ({
    id: req.principal ? apiTokenId(req.principal) : undefined,
    name: req.principal?.name,
    role: req.principal?.role,
    expires_at: req.principal?.expires_at ? new Date(req.principal.expires_at * 1000).toISOString() : null,
  }));

  app.post<{ Body: { name: string; role: Role; expires_in_s?: number } }>(
    '/api/v1/auth/tokens',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'role'],
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._@-]+$' },
            role: { type: 'string', enum: [...ROLES] },
            expires_in_s: { type: 'integer', minimum: 1, maximum: 10 * 365 * 86400 },
          },
        },
      },
    },
    async (req, reply) => {
      const nowS = Math.floor(ctx.now() / 1000);
      const exp = req.body.expires_in_s ? nowS + req.body.expires_in_s : null;
      const token = mintApiToken(ctx.db, req.body.name, req.body.role, nowS, exp);
      ctx.log(`created API token ${req.body.name} (${req.body.role}) by ${req.principal?.name ?? '?'}`);
      // the one time the token itself is shown
      return reply.code(201).send({ token, id: apiTokenIdOf(token), name: req.body.name, role: req.body.role, expires_at: exp ? new Date(exp * 1000).toISOString() : null });
    },
  );

  app.get('/api/v1/auth/tokens', { config: { adminOnly: true } }, async () => ({ tokens: listApiTokens(ctx.db, Math.floor(ctx.now() / 1000)) }));

  app.delete<{ Params: { id: string } }>(
    '/api/v1/auth/tokens/:id',
    { schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[0-9a-f]{16}$' } } } } },
    async (req, reply) => {
      const r = revokeApiToken(ctx.db, req.params.id, Math.floor(ctx.now() / 1000));
      if (r === null) return reply.code(404).send({ message: `no API token with id ${req.params.id} (see \`vigocli auth token list\`)` });
      if (!r.already) ctx.log(`revoked API token ${r.token.id} (${r.token.name}) by ${req.principal?.name ?? '?'}`);
      return { token: r.token, already: r.already };
    },
  );
});
