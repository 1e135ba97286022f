/** Runs: the most recent convergence runs, newest first. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

export async function runsPlugin(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get<{ Querystring: { envoy?: string; limit?: number; status?: string } }>(
    '/api/v1/runs',
    {
      config: { roles: ['compliance'] },
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            envoy: { type: 'string', maxLength: 253 },
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 50 },
            status: { type: 'string', enum: ['ok', 'changed', 'failed'] },
          },
        },
      },
    },
    async (req, reply) => {
      const where: string[] = [];
      const args: unknown[] = [];
      if (req.query.envoy) {
        const rec = ctx.index.find(req.query.envoy);
        if (!rec) return reply.code(404).send({ message: `no envoy '${req.query.envoy}'` });
        where.push('r.envoy_id = ?');
        args.push(rec.id);
      }
      if (req.query.status) {
        where.push('r.status = ?');
        args.push(req.query.status);
      }
      const rows = ctx.db
        .prepare(
          `SELECT r.run_id, r.envoy_id, e.hostname, r.policy_version, r.started_at, r.duration_ms, r.status, r.ok, r.changed, r.failed, r.configcrates
           FROM runs r JOIN envoys e ON e.id = r.envoy_id ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY r.seq DESC LIMIT ?`,
        )
        .all(...args, req.query.limit ?? 50);
      return { runs: rows };
    },
  );
}
