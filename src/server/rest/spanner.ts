/**
 * The spanner's REST endpoints. Admin verbs (bearer token, like every route): status,
 * init, roster, bolt/invite, bolt/join. Bolt-to-bolt endpoints (`config.auth: 'bolt'`, no
 * bearer token): peer/admit authenticates the joiner by the invite token in its bundle and
 * the proof by its key; peer/gossip by the signed-request headers against the pinned keys
 * of the roster (spanner/client.ts). The work is in spanner/service.ts (Bolt).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServerContext } from '../context.js';
import { VigoError } from '../../platform/errors.js';
import { parseServerUrl } from '../../wire/rest-client.js';
import { ADMIT_PATH, GOSSIP_PATH, STATS_PATH, MAX_GOSSIP_MESSAGE_BYTES, SPANNER_STATUS, DEFAULT_INVITE_TTL_S, MAX_INVITE_TTL_S, type Bolt, type JoinRequest } from '../../spanner/index.js';

/** A verb's answer, or its refusal as `{message, code, hint}` with the status SPANNER_STATUS gives. */
export async function answer<T>(reply: FastifyReply, fn: () => T | Promise<T>): Promise<T | FastifyReply> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof VigoError && SPANNER_STATUS[e.code] !== undefined) {
      return reply.code(SPANNER_STATUS[e.code]!).send({ message: e.hint ? `${e.message} (${e.hint})` : e.message, code: e.code });
    }
    throw e;
  }
}

function standalone(reply: FastifyReply): FastifyReply {
  return reply.code(409).send({ message: 'this server is standalone (spanner.mode in server.yaml): no spanner configured', code: 'E_SPANNER_STANDALONE' });
}

export async function spannerPlugin(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const bolt = (): Bolt | null => ctx.spanner;

  // `stacks`: this bolt's stacks watcher, with the bare repo a spanner-mode publish pushes to
  app.get('/api/v1/spanner/status', async () => {
    const b = bolt();
    return b === null ? { mode: 'standalone' } : { ...(await b.status()), stacks: ctx.stacks?.state() ?? null };
  });

  app.post('/api/v1/spanner/init', async (_req, reply) => {
    const b = bolt();
    if (b === null) return standalone(reply);
    return answer(reply, async () => ({ bolt: await b.init() }));
  });

  app.get('/api/v1/spanner/roster', async (_req, reply) => {
    const b = bolt();
    if (b === null) return standalone(reply);
    return answer(reply, () => ({ spanner_id: ctx.config.spanner.spanner_id, digest: b.gossip?.roster.digest, bolts: b.list() }));
  });

  app.post<{ Body: { ttl_s?: number } | undefined }>(
    '/api/v1/spanner/bolt/invite',
    { schema: { body: { type: ['object', 'null'], additionalProperties: false, properties: { ttl_s: { type: 'integer', minimum: 1, maximum: MAX_INVITE_TTL_S } } } } },
    async (req, reply) => {
      const b = bolt();
      if (b === null) return standalone(reply);
      ctx.log(`spanner invite requested by ${req.principal?.name ?? '?'}`);
      return answer(reply, () => b.invite(req.body?.ttl_s ?? DEFAULT_INVITE_TTL_S));
    },
  );

  app.post<{ Body: { from: string; code: string } }>(
    '/api/v1/spanner/bolt/join',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['from', 'code'],
          properties: { from: { type: 'string', minLength: 9, maxLength: 300, pattern: '^https://' }, code: { type: 'string', minLength: 1, maxLength: 4096 } },
        },
      },
    },
    async (req, reply) => {
      const b = bolt();
      if (b === null) return standalone(reply);
      return answer(reply, () => b.join(parseServerUrl(req.body.from, '--from').origin, req.body.code));
    },
  );

  app.post<{ Body: JoinRequest }>(ADMIT_PATH, { config: { auth: 'bolt' }, bodyLimit: 64 * 1024 }, async (req, reply) => {
    const b = bolt();
    if (b === null) return standalone(reply);
    return answer(reply, () => b.admit(req.body));
  });

  app.get(STATS_PATH, { config: { auth: 'bolt' } }, async (req, reply) => {
    const b = bolt();
    if (b === null) return standalone(reply);
    const check = b.checkPeer(req.headers, 'GET', STATS_PATH, undefined);
    if (!check.ok) return reply.code(401).send({ message: check.message });
    return b.stats();
  });

  app.post(GOSSIP_PATH, { config: { auth: 'bolt' }, bodyLimit: MAX_GOSSIP_MESSAGE_BYTES + 64 * 1024 }, async (req, reply) => {
    const b = bolt();
    if (b === null) return standalone(reply);
    const check = b.checkPeer(req.headers, 'POST', GOSSIP_PATH, req.body);
    if (!check.ok) return reply.code(401).send({ message: check.message });
    b.onGossip(check.from, req.body, Number(req.headers['content-length'] ?? 0) || Buffer.byteLength(JSON.stringify(req.body ?? null)));
    return reply.code(202).send({ ok: true });
  });
}
