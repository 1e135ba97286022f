/**
 * `POST /api/v1/spanner/ops-puddle/pair-claim` (wire/ops-puddle.ts, docs/wire-formats.md
 * §23): the inviting vigosrv's half of `ops-puddle join`. Authenticated like every admin
 * route (bearer token over TLS); the code is checked against --ops-puddle-dir/pending-pair
 * (constant-time, burned on first use, dead after MAX_PAIR_FAILURES wrong codes), and each
 * source address gets at most PAIR_FAILURES_PER_MIN refused claims a minute before it is
 * blocked for PAIR_BLOCK_MS. The answer carries the ops-puddle seed: only over this TLS
 * connection, never logged.
 */
import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import type { ServerContext } from '../context.js';
import { isVigoError } from '../../platform/errors.js';
import { masterKeyWrap, secretsPaths } from '../secrets.js';
import { OPS_PUDDLE_WRAP_DOMAIN, PAIR_CLAIM_PATH, claimPair, parsePairClaimRequest } from '../../spanner/index-ops.js';
import { FailureLimiter, sourceKey } from './limits.js';

export const PAIR_FAILURES_PER_MIN = 10;
export const PAIR_BLOCK_MS = 5 * 60_000;

const STATUS: Record<string, number> = { E_PAIR_NONE: 403, E_PAIR_USED: 403, E_PAIR_LOCKED: 403, E_PAIR_EXPIRED: 403, E_PAIR_WRONG: 403, E_OPS_NONE: 409, E_OPS_FULL: 409, E_OPS_WIRE: 400 };

/** The ops-puddle dir vigosrv answers for: <data dir>/ops-puddle, the CLI's default --ops-puddle-dir. */
export const opsPuddleDir = (ctx: ServerContext): string => join(ctx.config.dataDir, 'ops-puddle');

export async function spannerOpsPlugin(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const limiter = new FailureLimiter({ perMinute: PAIR_FAILURES_PER_MIN, blockMs: PAIR_BLOCK_MS, log: ctx.log, now: ctx.now });
  app.post(PAIR_CLAIM_PATH, { bodyLimit: 4096 }, async (req, reply) => {
    const addr = sourceKey(req.socket.remoteAddress);
    if (limiter.blocked(addr)) return reply.code(429).header('retry-after', String(limiter.retryAfterS(addr))).send({ message: `too many refused pair claims from ${addr}; try again in ${limiter.retryAfterS(addr)} s`, code: 'E_PAIR_RATE' });
    try {
      const body = parsePairClaimRequest(req.body);
      const wrap = masterKeyWrap(secretsPaths(ctx.config.secretsDir, ctx.config.dataDir), OPS_PUDDLE_WRAP_DOMAIN);
      const answer = claimPair(opsPuddleDir(ctx), wrap, body.code, body.pubkey, ctx.now());
      ctx.log(`ops-puddle: pair claimed by ${req.principal?.name ?? '?'} from ${addr}: service-account ed25519:${body.pubkey} is member ${answer.members.length}`);
      return answer;
    } catch (e) {
      if (isVigoError(e) && STATUS[e.code] !== undefined) {
        if (STATUS[e.code] === 403) limiter.fail(addr, `pair claim refused: ${e.code}`);
        ctx.log(`ops-puddle: pair claim from ${addr} refused: ${e.code}`);
        return reply.code(STATUS[e.code]!).send({ message: e.hint ? `${e.message} (${e.hint})` : e.message, code: e.code });
      }
      throw e;
    }
  });
}
