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
import { MEMBERS_PATH, OPS_PUDDLE_WRAP_DOMAIN, PAIR_CLAIM_PATH, claimPair, mergeMembers, parseMembersDoc, parsePairClaimRequest, signedMembers } from '../../spanner/index-ops.js';
import type { Bolt } from '../../spanner/index.js';
import { FailureLimiter, sourceKey } from './limits.js';

export const PAIR_FAILURES_PER_MIN = 10;
export const PAIR_BLOCK_MS = 5 * 60_000;

const STATUS: Record<string, number> = { E_OPS_OTHER: 409, E_OPS_BAD_SIGNATURE: 403,  E_PAIR_NONE: 403, E_PAIR_USED: 403, E_PAIR_LOCKED: 403, E_PAIR_EXPIRED: 403, E_PAIR_WRONG: 403, E_OPS_NONE: 409, E_OPS_FULL: 409, E_OPS_WIRE: 400 };

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
      if (ctx.spanner !== null) void pushMembers(ctx, ctx.spanner, wrap);
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

/**
 * After a claim: the new member list, signed by the ops-puddle key, to every other live
 * bolt (a bolt-signed call each, PEER_TIMEOUT_MS). A bolt that holds the same ops-puddle
 * merges it; one that holds none answers 409 and is skipped. Best effort: a bolt that is
 * down learns the list at the next claim anywhere.
 */
async function pushMembers(ctx: ServerContext, b: Bolt, wrap: ReturnType<typeof masterKeyWrap>): Promise<void> {
  try {
    const doc = await signedMembers(opsPuddleDir(ctx), wrap);
    const peers = b.liveRoutes().filter((r) => !r.self);
    const res = await Promise.allSettled(peers.map((r) => b.callPeer<{ added: number }>(r.peer, 'POST', MEMBERS_PATH, doc)));
    const told = res.map((r, i) => `${peers[i]!.bolt_id}: ${r.status === 'fulfilled' ? r.value.status : r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
    ctx.log(`ops-puddle: member list (${doc.members.length}) pushed to ${peers.length} bolt(s) (${told.join(', ') || 'none'})`);
  } catch (e) {
    ctx.log(`ops-puddle: could not push the member list: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The receiving side: a live roster bolt's signed call, carrying a list signed by the ops-puddle key. */
export async function spannerOpsPeerPlugin(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.post(MEMBERS_PATH, { config: { auth: 'bolt' }, bodyLimit: 64 * 1024 }, async (req, reply) => {
    const b = ctx.spanner;
    if (b === null) return reply.code(409).send({ message: 'this server is standalone', code: 'E_SPANNER_STANDALONE' });
    const check = b.checkPeer(req.headers, 'POST', MEMBERS_PATH, req.body);
    if (!check.ok) return reply.code(401).send({ message: check.message });
    try {
      const added = mergeMembers(opsPuddleDir(ctx), parseMembersDoc(req.body));
      if (added.length > 0) ctx.log(`ops-puddle: ${added.length} member(s) learned from bolt ${check.from.slice(0, 12)}…`);
      return { added: added.length };
    } catch (e) {
      if (isVigoError(e) && STATUS[e.code] !== undefined) return reply.code(STATUS[e.code]!).send({ message: e.message, code: e.code });
      throw e;
    }
  });
}
