/** Server status, compliance figures, and Prometheus metrics. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { VERSION } from '../../wire/version.js';
import { certificateStatus } from '../checkin/certs.js';

export async function statusPlugin(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get('/api/v1/status', { config: { roles: ['compliance'] } }, async () => {
    const now = ctx.now();
    const c = ctx.index.compliance(now);
    return {
      version: VERSION,
      uptime_s: Math.round((now - ctx.startedAt) / 1000),
      config_version: ctx.policy.version,
      /** why `.live` did not load at boot (null when all is well) */
      live_error: ctx.policy.liveError,
      envoys: { enrolled: ctx.index.size, connected: ctx.checkin.connectedCount, ...c.counts, revoked: c.revoked },
      compliance_pct: c.compliance_pct,
      checkin_interval_s: Math.max(1, Math.round(ctx.config.checkinIntervalMs / 1000)),
      spanner_mode: ctx.config.spanner.mode,
      grpc_port: ctx.grpcPort,
      certificates: certificateStatus(ctx.checkin.serverCert, ctx.checkin.certs, ctx.index.all().filter((e) => !e.revoked), now),
    };
  });

  app.get('/api/v1/compliance', { config: { roles: ['compliance'] } }, async () => ctx.index.compliance(ctx.now()));

  app.get('/metrics', async (_req, reply) => {
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
}
