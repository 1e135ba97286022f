/**
 * Enrollment. An admin mints a one-time token; the envoy presents it with a CSR for its
 * Ed25519 key and gets a UUID, a client certificate signed by the CA, the CA, and the
 * gRPC address to dial. The token is consumed in the same transaction that creates the
 * envoy, so a token is never used twice and a failed enrollment consumes nothing.
 */
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { checkEnrollToken, consumeEnrollToken, mintEnrollToken } from '../tokens.js';
import { signEnvoyCsr } from '../pki.js';
import { splitHostPort } from '../config.js';
import { VigoError } from '../../platform/errors.js';
import type { ServerContext } from '../context.js';

/** The enrollment request's body cap (anyone can post to that route). */
export const ENROLL_BODY_LIMIT = 32 * 1024;

export async function enrollPlugin(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post<{ Body: { expires_in_s?: number } }>(
    '/api/v1/enroll/tokens',
    {
      schema: {
        body: { type: 'object', additionalProperties: false, properties: { expires_in_s: { type: 'integer', minimum: 60, maximum: 30 * 86400 } } },
      },
    },
    async (req, reply) => {
      const nowS = Math.floor(ctx.now() / 1000);
      const { token, expires_at } = mintEnrollToken(ctx.db, ctx.caFingerprint, nowS, req.body?.expires_in_s ?? 86400);
      return reply.code(201).send({ token, expires_at: new Date(expires_at * 1000).toISOString(), ca_fingerprint: ctx.caFingerprint });
    },
  );

  app.post<{ Body: { token: string; hostname: string; csr: string } }>(
    '/api/v1/enroll',
    {
      config: { auth: 'enroll-token' },
      // unauthenticated: a token, a hostname and a CSR (≤16 KiB) need no more
      bodyLimit: ENROLL_BODY_LIMIT,
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['token', 'hostname', 'csr'],
          properties: {
            token: { type: 'string', minLength: 1, maxLength: 256 },
            hostname: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$' },
            csr: { type: 'string', minLength: 1, maxLength: 16384 },
          },
        },
      },
    },
    async (req, reply) => {
      const { token, hostname, csr } = req.body;
      const nowS = Math.floor(ctx.now() / 1000);
      // Cheap refusal before any signing work; checked again inside the transaction.
      try {
        checkEnrollToken(ctx.db, token, nowS);
      } catch (e) {
        return reply.code(401).send({ message: e instanceof VigoError ? `${e.message}; ${e.hint ?? ''}`.trim() : 'enrollment refused' });
      }
      const id = randomUUID();
      let signed;
      try {
        signed = await signEnvoyCsr(ctx.ca, csr, id);
      } catch (e) {
        return reply.code(400).send({ message: e instanceof Error ? e.message : String(e) });
      }
      try {
        ctx.db.transaction(() => {
          consumeEnrollToken(ctx.db, token, nowS, id);
          ctx.index.add({ id, hostname, pubkeySha256: signed.publicKeySha256, certSerial: signed.serial, enrolledAt: nowS });
        })();
      } catch (e) {
        return reply.code(401).send({ message: e instanceof VigoError ? `${e.message}; ${e.hint ?? ''}`.trim() : 'enrollment refused' });
      }
      ctx.metrics.enrollments.inc();
      ctx.log(`enrolled envoy ${id} (${hostname})`);
      const grpcAddr = ctx.config.server.grpc_advertise ?? `${splitHostPort(req.headers.host ?? `127.0.0.1:0`).host || '127.0.0.1'}:${ctx.grpcPort}`;
      return reply.code(201).send({ envoy_id: id, hostname, cert: signed.cert, ca: ctx.ca.cert, grpc_addr: grpcAddr, interval_s: ctx.config.checkin.interval_s });
    },
  );
}
