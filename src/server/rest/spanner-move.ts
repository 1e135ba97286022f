/**
 * Moving envoys between bolts, over REST. Admin verbs (bearer token): reassign, drain (on
 * the bolt they name: a request naming another bolt is that bolt's to answer) and remove
 * (on the hub). Bolt-to-bolt endpoints (`config.auth: 'bolt'`, signed requests from a live
 * roster key, refused by a removed bolt): a routed enrollment, an envoy hand-over, the
 * hub's drain request and its revocation notice. The work is in server/envoy-move.ts;
 * the formats in spanner/move.ts.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { answer } from './spanner.js';
import { enrollHere } from './enroll.js';
import { splitHostPort } from '../config.js';
import { PEER_ACCEPT_BODY_LIMIT, PEER_ACCEPT_PATH, PEER_DRAIN_PATH, PEER_ENROLL_PATH, PEER_REVOKED_PATH, type Bolt, type EnvoyHandover } from '../../spanner/index.js';
import type { EnvoyMoves } from '../envoy-move.js';

const ID = '^[A-Za-z0-9._-]{1,64}$';
const HOSTNAME = '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$';

function standalone(reply: FastifyReply): FastifyReply {
  return reply.code(409).send({ message: 'this server is standalone (spanner.mode in server.yaml): no spanner configured', code: 'E_SPANNER_STANDALONE' });
}

export async function spannerMovePlugin(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const both = (): [Bolt, EnvoyMoves] | null => (ctx.spanner && ctx.moves ? [ctx.spanner, ctx.moves] : null);

  /** The signed caller of a bolt-to-bolt request, or null after answering the refusal. */
  const peerOf = (req: FastifyRequest, reply: FastifyReply, bolt: Bolt, path: string): string | null => {
    const check = bolt.checkPeer(req.headers, req.method, path, req.body);
    if (!check.ok) {
      void reply.code(401).send({ message: check.message });
      return null;
    }
    if (bolt.removed) {
      void reply.code(403).send({ message: `bolt ${bolt.boltId} was removed from the spanner: it takes no envoys and no requests from bolts`, code: 'E_SPANNER_REVOKED' });
      return null;
    }
    return check.from;
  };

  app.post<{ Body: { envoy_id: string; from: string; to: string } }>(
    '/api/v1/spanner/reassign',
    { schema: { body: { type: 'object', additionalProperties: false, required: ['envoy_id', 'from', 'to'], properties: { envoy_id: { type: 'string', minLength: 1, maxLength: 253 }, from: { type: 'string', pattern: ID }, to: { type: 'string', pattern: ID } } } } },
    async (req, reply) => {
      const m = both();
      if (m === null) return standalone(reply);
      ctx.log(`reassign of envoy ${req.body.envoy_id} from ${req.body.from} to ${req.body.to} requested by ${req.principal?.name ?? '?'}`);
      return answer(reply, () => m[1].reassign(req.body.envoy_id, req.body.from, req.body.to));
    },
  );

  app.post<{ Params: { id: string }; Body: { to?: string } | undefined }>(
    '/api/v1/spanner/bolts/:id/drain',
    { schema: { params: { type: 'object', properties: { id: { type: 'string', pattern: ID } } }, body: { type: ['object', 'null'], additionalProperties: false, properties: { to: { type: 'string', pattern: ID } } } } },
    async (req, reply) => {
      const m = both();
      if (m === null) return standalone(reply);
      const [bolt, moves] = m;
      if (req.params.id !== bolt.boltId) return reply.code(409).send({ message: `this is bolt ${bolt.boltId}, not ${req.params.id}; send the drain to bolt ${req.params.id}`, code: 'E_NOT_THIS_BOLT' });
      ctx.log(`drain of bolt ${bolt.boltId}${req.body?.to ? ` to ${req.body.to}` : ''} requested by ${req.principal?.name ?? '?'}`);
      return answer(reply, () => moves.drain(req.body?.to));
    },
  );

  app.post<{ Body: { bolt_id: string } }>(
    '/api/v1/spanner/bolt/remove',
    { schema: { body: { type: 'object', additionalProperties: false, required: ['bolt_id'], properties: { bolt_id: { type: 'string', pattern: ID } } } } },
    async (req, reply) => {
      const m = both();
      if (m === null) return standalone(reply);
      ctx.log(`removal of bolt ${req.body.bolt_id} requested by ${req.principal?.name ?? '?'}`);
      return answer(reply, () => m[1].remove(req.body.bolt_id));
    },
  );

  // --- bolt to bolt --------------------------------------------------------------------------

  app.post<{ Body: { envoy_id: string; hostname: string; csr: string; via: string } }>(
    PEER_ENROLL_PATH,
    {
      config: { auth: 'bolt' },
      bodyLimit: 64 * 1024,
      schema: { body: { type: 'object', additionalProperties: false, required: ['envoy_id', 'hostname', 'csr', 'via'], properties: { envoy_id: { type: 'string', pattern: '^[0-9a-f-]{36}$' }, hostname: { type: 'string', minLength: 1, maxLength: 253, pattern: HOSTNAME }, csr: { type: 'string', minLength: 1, maxLength: 16384 }, via: { type: 'string', pattern: ID } } } },
    },
    async (req, reply) => {
      const m = both();
      if (m === null) return standalone(reply);
      const [bolt, moves] = m;
      if (peerOf(req, reply, bolt, PEER_ENROLL_PATH) === null) return reply;
      const owner = moves.route(req.body.hostname);
      if (owner?.pubkey !== bolt.identity.pubkey) return reply.code(409).send({ message: `${req.body.hostname} is not bolt ${bolt.boltId}'s by the patterns of its roster${owner ? ` (it routes it to ${owner.bolt_id})` : ''}`, code: 'E_ROUTE' });
      if (ctx.index.get(req.body.envoy_id)) return reply.code(409).send({ message: `envoy ${req.body.envoy_id} exists here already`, code: 'E_ENVOY_EXISTS' });
      const out = await enrollHere(ctx, { id: req.body.envoy_id, hostname: req.body.hostname, csr: req.body.csr, nowS: Math.floor(ctx.now() / 1000), consume: null, grpcHost: splitHostPort(req.headers.host ?? '127.0.0.1:0').host || '127.0.0.1' });
      if (out.status === 201) ctx.log(`enrolled ${req.body.hostname} for bolt ${req.body.via}, which received the enrollment`);
      return reply.code(out.status).send(out.body);
    },
  );

  app.post<{ Body: EnvoyHandover }>(PEER_ACCEPT_PATH, { config: { auth: 'bolt' }, bodyLimit: PEER_ACCEPT_BODY_LIMIT }, async (req, reply) => {
    const m = both();
    if (m === null) return standalone(reply);
    if (peerOf(req, reply, m[0], PEER_ACCEPT_PATH) === null) return reply;
    return answer(reply, () => m[1].accept(req.body));
  });

  app.post(PEER_DRAIN_PATH, { config: { auth: 'bolt' }, bodyLimit: 1024 }, async (req, reply) => {
    const m = both();
    if (m === null) return standalone(reply);
    if (peerOf(req, reply, m[0], PEER_DRAIN_PATH) === null) return reply;
    ctx.log(`drain of this bolt requested by the hub (bolt remove)`);
    return answer(reply, () => m[1].drain());
  });

  app.post<{ Body: { rows: unknown[] } }>(PEER_REVOKED_PATH, { config: { auth: 'bolt' }, bodyLimit: 64 * 1024 }, async (req, reply) => {
    const m = both();
    if (m === null) return standalone(reply);
    // a removed bolt still takes this one: it is how it learns that it was removed
    const check = m[0].checkPeer(req.headers, 'POST', PEER_REVOKED_PATH, req.body);
    if (!check.ok) return reply.code(401).send({ message: check.message });
    const rows = Array.isArray(req.body?.rows) ? req.body.rows.slice(0, 16) : [];
    return answer(reply, () => ({ accepted: m[0].acceptRows(rows) }));
  });
}
