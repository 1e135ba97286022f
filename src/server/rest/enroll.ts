/**
 * Enrollment. An admin mints a one-time token; the envoy presents it with a CSR for its
 * Ed25519 key and gets a UUID, a client certificate signed by the CA, the CA, and the
 * gRPC address to dial. The token is consumed in the same transaction that creates the
 * envoy, so a token is never used twice and a failed enrollment consumes nothing. A token
 * minted with a hostname enrolls only that hostname (a mismatch is refused, 403, and the
 * token stays usable). No token ever reaches a log line.
 */
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { checkEnrollToken, consumeEnrollToken, mintEnrollToken } from '../tokens.js';
import { certValidity } from '../../wire/enroll.js';
import { signEnvoyCsr } from '../pki.js';
import { splitHostPort } from '../config.js';
import { VigoError } from '../../platform/errors.js';
import type { ServerContext } from '../context.js';

const HOSTNAME = '^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$';

/** The enrollment request's body cap (anyone can post to that route). */
export const ENROLL_BODY_LIMIT = 32 * 1024;

export async function enrollPlugin(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post<{ Body: { expires_in_s?: number; hostname?: string } }>(
    '/api/v1/enroll/tokens',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { expires_in_s: { type: 'integer', minimum: 60, maximum: 30 * 86400 }, hostname: { type: 'string', minLength: 1, maxLength: 253, pattern: HOSTNAME } },
        },
      },
    },
    async (req, reply) => {
      const nowS = Math.floor(ctx.now() / 1000);
      const hostname = req.body?.hostname ?? null;
      const { token, expires_at } = mintEnrollToken(ctx.db, ctx.caFingerprint, nowS, req.body?.expires_in_s ?? 86400, hostname);
      ctx.log(`minted an enrollment token${hostname ? ` bound to ${hostname}` : ''}, expires ${new Date(expires_at * 1000).toISOString()}`);
      return reply.code(201).send({ token, expires_at: new Date(expires_at * 1000).toISOString(), ca_fingerprint: ctx.caFingerprint, hostname });
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
            hostname: { type: 'string', minLength: 1, maxLength: 253, pattern: HOSTNAME },
            csr: { type: 'string', minLength: 1, maxLength: 16384 },
          },
        },
      },
    },
    async (req, reply) => {
      const { token, hostname, csr } = req.body;
      const nowS = Math.floor(ctx.now() / 1000);
      const refused = (e: unknown) => {
        // the log names the hostname asked for and why, never the token
        ctx.log(`enrollment as ${hostname} from ${req.ip} refused: ${e instanceof Error ? e.message : 'refused'}`);
        const code = e instanceof VigoError && e.code === 'E_ENROLL_HOSTNAME' ? 403 : 401;
        return reply.code(code).send({ message: e instanceof VigoError ? `${e.message}; ${e.hint ?? ''}`.trim() : 'enrollment refused' });
      };
      // Cheap refusal before any signing work; checked again inside the transaction.
      try {
        checkEnrollToken(ctx.db, token, nowS, hostname);
      } catch (e) {
        return refused(e);
      }
      const id = randomUUID();
      let signed;
      try {
        signed = await signEnvoyCsr(ctx.ca, csr, id, new Date(ctx.now()), ctx.config.pki.envoy_cert_lifetime_s);
      } catch (e) {
        return reply.code(400).send({ message: e instanceof Error ? e.message : String(e) });
      }
      try {
        ctx.db.transaction(() => {
          consumeEnrollToken(ctx.db, token, nowS, hostname, id);
          ctx.index.add({ id, hostname, pubkeySha256: signed.publicKeySha256, certSerial: signed.serial, enrolledAt: nowS });
        })();
      } catch (e) {
        return refused(e);
      }
      ctx.checkin.certs.record(id, certValidity(signed.cert));
      ctx.metrics.enrollments.inc();
      ctx.log(`enrolled envoy ${id} (${hostname})`);
      const grpcAddr = ctx.config.server.grpc_advertise ?? `${splitHostPort(req.headers.host ?? `127.0.0.1:0`).host || '127.0.0.1'}:${ctx.grpcPort}`;
      return reply.code(201).send({ envoy_id: id, hostname, cert: signed.cert, ca: ctx.ca.cert, grpc_addr: grpcAddr, interval_s: Math.max(1, Math.round(ctx.config.checkinIntervalMs / 1000)) });
    },
  );
}
