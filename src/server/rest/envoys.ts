/** Envoys: list, show, revoke, push (force a check-in through the stream). */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServerContext } from '../context.js';
import type { EnvoyRecord } from '../envoys.js';
import { runView } from './runs.js';

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 253 } } } as const;

export async function envoysPlugin(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const lookup = (id: string, reply: FastifyReply): EnvoyRecord | undefined => {
    const rec = ctx.index.find(id);
    if (!rec) void reply.code(404).send({ message: `no envoy '${id}' (give its id, or a hostname held by exactly one envoy)` });
    return rec;
  };

  app.get<{ Querystring: { status?: string } }>(
    '/api/v1/envoys',
    { config: { roles: ['compliance'] }, schema: { querystring: { type: 'object', additionalProperties: false, properties: { status: { type: 'string', maxLength: 16 } } } } },
    async (req) => {
      const now = ctx.now();
      const envoys = ctx.index
        .all()
        .map((r) => ctx.index.view(r, now))
        .filter((v) => !req.query.status || v.status === req.query.status)
        .sort((a, b) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id));
      return { envoys };
    },
  );

  app.get<{ Params: { id: string } }>('/api/v1/envoys/:id', { config: { roles: ['compliance'] }, schema: { params: idParams } }, async (req, reply) => {
    const rec = lookup(req.params.id, reply);
    if (!rec) return reply;
    const runs = (
      ctx.db
        .prepare(
          'SELECT run_id, policy_version, started_at, duration_ms, status, ok, changed, failed, configcrates, report_bytes, truncated_bytes, resources_omitted FROM runs WHERE envoy_id = ? ORDER BY seq DESC LIMIT 10',
        )
        .all(rec.id) as { truncated_bytes: number; resources_omitted: number }[]
    ).map(runView);
    return { envoy: { ...ctx.index.view(rec, ctx.now()), pubkey_sha256: rec.pubkeySha256, cert_serial: rec.certSerial }, recent_runs: runs };
  });

  app.post<{ Params: { id: string } }>('/api/v1/envoys/:id/revoke', { schema: { params: idParams } }, async (req, reply) => {
    const rec = lookup(req.params.id, reply);
    if (!rec) return reply;
    if (rec.revoked) return { envoy: ctx.index.view(rec, ctx.now()), already: true };
    ctx.index.revoke(rec.id, Math.floor(ctx.now() / 1000));
    ctx.checkin.disconnect(rec.id, `envoy ${rec.id} is revoked`);
    ctx.log(`revoked envoy ${rec.id} (${rec.hostname}) by ${req.principal?.name ?? '?'}`);
    return { envoy: ctx.index.view(rec, ctx.now()), already: false };
  });

  app.post<{ Params: { id: string } }>('/api/v1/envoys/:id/push', { schema: { params: idParams } }, async (req, reply) => {
    const rec = lookup(req.params.id, reply);
    if (!rec) return reply;
    const pushed = ctx.checkin.push([rec.id], 'push');
    if (pushed === 0) return reply.code(409).send({ message: `envoy ${rec.hostname} (${rec.id}) holds no check-in stream right now (status ${ctx.index.status(rec, ctx.now())})` });
    return { pushed, at: new Date(ctx.now()).toISOString() };
  });

  app.post('/api/v1/push', async () => ({ pushed: ctx.checkin.push(null, 'push'), at: new Date(ctx.now()).toISOString() }));
}
