/**
 * Enrollment. An admin mints a one-time token; the envoy presents it with a CSR for its
 * Ed25519 key and gets a UUID, a client certificate signed by the CA, the CA, and the
 * gRPC address to dial. The token is consumed in the same transaction that creates the
 * envoy, so a token is never used twice and a failed enrollment consumes nothing. A token
 * minted with a hostname enrolls only that hostname (a mismatch is refused, 403, and the
 * token stays usable). No token ever reaches a log line.
 *
 * In a spanner the bolt that receives the enrollment (the one that minted the token: the
 * envoy pins its CA by the token) routes it by hostname pattern (spanner/routing.ts): it
 * spends the token, and the owning bolt signs the CSR and records the envoy (a signed peer
 * call, PEER_ENROLL_PATH). A failed forward gives the token back. No match: this bolt keeps it.
 */
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { checkEnrollToken, consumeEnrollToken, mintEnrollToken, releaseEnrollToken } from '../tokens.js';
import { PEER_ENROLL_PATH, type EnrollAnswer } from '../../spanner/index.js';
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
      const bolt = ctx.spanner;
      if (bolt?.removed) return reply.code(403).send({ message: `this bolt (${bolt.boltId}) was removed from the spanner and enrolls no envoys; enroll at a live bolt with a token minted there`, code: 'E_SPANNER_REVOKED' });
      // Cheap refusal before any signing work; checked again inside the transaction.
      try {
        checkEnrollToken(ctx.db, token, nowS, hostname);
      } catch (e) {
        return refused(e);
      }
      const id = randomUUID();
      const owner = ctx.moves?.route(hostname) ?? null;
      if (bolt && owner && owner.pubkey !== bolt.identity.pubkey) {
        // another bolt's pattern: the token is spent here (where it was minted), the owner signs
        try {
          ctx.db.transaction(() => consumeEnrollToken(ctx.db, token, nowS, hostname, id))();
        } catch (e) {
          return refused(e);
        }
        const failed = (status: number, message: string) => {
          releaseEnrollToken(ctx.db, id);
          ctx.log(`enrollment of ${hostname} routed to bolt ${owner.bolt_id} failed (the token stays usable): ${message}`);
          return reply.code(status).send({ message: `bolt ${owner.bolt_id}, which owns ${hostname} by its patterns: ${message}; the token was not used up` });
        };
        let r;
        try {
          const { peer } = bolt.livePeer(owner.bolt_id, 'bolt');
          r = await bolt.callPeer<EnrollAnswer & { message?: string }>(peer, 'POST', PEER_ENROLL_PATH, { envoy_id: id, hostname, csr, via: bolt.boltId });
        } catch (e) {
          return failed(502, `did not answer (${e instanceof Error ? e.message : String(e)}); retry later`);
        }
        if (r.status !== 201) return failed(r.status >= 500 ? 502 : r.status === 401 ? 502 : r.status, r.body?.message ?? `HTTP ${r.status}`);
        ctx.log(`routed the enrollment of ${hostname} (${id}) to bolt ${owner.bolt_id}`);
        return reply.code(201).send(r.body);
      }
      const out = await enrollHere(ctx, { id, hostname, csr, nowS, consume: () => consumeEnrollToken(ctx.db, token, nowS, hostname, id), grpcHost: splitHostPort(req.headers.host ?? `127.0.0.1:0`).host || '127.0.0.1' });
      if (out.status === 401) return refused(out.error);
      return reply.code(out.status).send(out.body);
    },
  );
}

/**
 * Sign the CSR with this server's CA and record the envoy (after `consume` spends the token,
 * in the same transaction). Used by the enroll route and, in a spanner, by the owning bolt
 * for an enrollment another bolt routed to it (no token here: it was spent there).
 */
export async function enrollHere(
  ctx: ServerContext,
  e: { id: string; hostname: string; csr: string; nowS: number; consume: (() => void) | null; grpcHost: string },
): Promise<{ status: number; body: EnrollAnswer | { message: string }; error?: unknown }> {
  let signed;
  try {
    signed = await signEnvoyCsr(ctx.ca, e.csr, e.id, new Date(ctx.now()), ctx.config.pki.envoy_cert_lifetime_s);
  } catch (err) {
    return { status: 400, body: { message: err instanceof Error ? err.message : String(err) } };
  }
  try {
    ctx.db.transaction(() => {
      e.consume?.();
      ctx.index.add({ id: e.id, hostname: e.hostname, pubkeySha256: signed.publicKeySha256, certSerial: signed.serial, enrolledAt: e.nowS });
    })();
  } catch (err) {
    return { status: 401, body: { message: 'enrollment refused' }, error: err };
  }
  ctx.checkin.certs.record(e.id, certValidity(signed.cert));
  ctx.checkin.certs.recordKey(e.id, signed.cert);
  ctx.metrics.enrollments.inc();
  ctx.log(`enrolled envoy ${e.id} (${e.hostname})`);
  const spanner = ctx.moves?.addresses();
  const grpcAddr = ctx.config.server.grpc_advertise ?? (ctx.spanner?.gossip ? spanner?.grpc_addr : undefined) ?? `${e.grpcHost}:${ctx.grpcPort}`;
  const body: EnrollAnswer = {
    envoy_id: e.id,
    hostname: e.hostname,
    cert: signed.cert,
    ca: ctx.ca.cert,
    ca_bundle: ctx.moves?.trust().bundle ?? ctx.ca.cert,
    grpc_addr: grpcAddr,
    interval_s: Math.max(1, Math.round(ctx.config.checkinIntervalMs / 1000)),
    ...(ctx.spanner?.gossip && spanner ? { bolt_id: ctx.spanner.boltId, server: spanner.server } : {}),
  };
  return { status: 201, body };
}
