/** The REST API over TLS: one plugin per area; every error is `{"message": …}`. */
import Fastify, { type FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { authPlugin } from './auth.js';
import { enrollPlugin } from './enroll.js';
import { envoysPlugin } from './envoys.js';
import { runsPlugin } from './runs.js';
import { configPlugin } from './config.js';
import { statusPlugin } from './status.js';
import { spannerPlugin } from './spanner.js';
import { spannerMovePlugin } from './spanner-move.js';
import { spannerAdminPlugin } from './spanner-admin.js';
import { forwardPlugin } from './spanner-forward.js';
import { spannerOpsPlugin } from './spanner-ops.js';
import { limitsPlugin, REST_TIMEOUTS } from './limits.js';

export async function buildRest(ctx: ServerContext, tls: { key: string; cert: string }): Promise<FastifyInstance> {
  const app = Fastify({
    https: { key: tls.key, cert: tls.cert },
    bodyLimit: ctx.config.server.body_limit_bytes,
    ...REST_TIMEOUTS,
    logger: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });
  app.setErrorHandler((err: { statusCode?: number; message: string; code?: string; validation?: unknown }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status === 500) ctx.log(`REST error: ${err.message}`);
    let message = err.message;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = req.routeOptions.bodyLimit ?? ctx.config.server.body_limit_bytes;
      message = `request body too large (limit ${limit} bytes${limit === ctx.config.server.body_limit_bytes ? ', server.body_limit_bytes' : ' for this endpoint'})`;
      // the rest of the body is not worth receiving: close instead of draining it
      void reply.header('connection', 'close');
    }
    else if (err.validation) message = `invalid request: ${err.message}`;
    else if (status === 500) message = 'internal error (see the vigosrv log)';
    return reply.code(status).send({ message });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ message: `no such endpoint: ${req.method} ${req.url.split('?')[0]}` }));
  await app.register(limitsPlugin, ctx);
  await app.register(authPlugin, ctx);
  // before every route plugin: per-bolt requests for another bolt are forwarded (spanner-forward.ts)
  await app.register(forwardPlugin, ctx);
  await app.register(enrollPlugin, ctx);
  await app.register(envoysPlugin, ctx);
  await app.register(runsPlugin, ctx);
  await app.register(configPlugin, ctx);
  await app.register(statusPlugin, ctx);
  await app.register(spannerPlugin, ctx);
  await app.register(spannerMovePlugin, ctx);
  await app.register(spannerAdminPlugin, ctx);
  await app.register(spannerOpsPlugin, ctx);
  return app;
}
