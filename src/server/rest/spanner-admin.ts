/**
 * The per-bolt admin verbs (`vigocli spanner bolt show|envoys|runs|push|add`) and the
 * merged `--spanner` views. A per-bolt request reaching the wrong bolt is forwarded by the
 * hook in spanner-forward.ts before these handlers run, so each handler answers for this
 * bolt only, from this server's own envoy index and runs table. The merged views ask every
 * live bolt in parallel (a forwarded call each, MERGE_TIMEOUT_MS) and name the bolts that
 * did not answer. Definitions of every figure: docs/spanner.md "Per-bolt verbs".
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { stringify } from 'yaml';
import type { ServerContext } from '../context.js';
import { VigoError } from '../../platform/errors.js';
import { SPANNER_STATUS, spannerSection, type Bolt } from '../../spanner/index.js';
import { STATUSES, type EnvoyStatus } from '../status.js';
import type { EnvoyView } from '../envoys.js';
import { RUN_COLUMNS, runView } from './runs.js';
import type { StacksSyncState } from '../publish/stacks-watcher.js';

/** the merged views wait this long for each bolt */
export const MERGE_TIMEOUT_MS = 5_000;
export const MAX_RUNS_LIMIT = 1000;

export interface BoltShow {
  bolt_id: string;
  hostname: string;
  pubkey: string;
  peer_addr: string;
  patterns: string[];
  mode: string;
  envoys: { enrolled: number; active: number; connected: number; revoked: number } & Record<EnvoyStatus, number>;
  compliance_pct: number;
  checkin_interval_s: number;
  config_version: number;
  /** the newest check-in of any envoy of this bolt */
  last_checkin: string | null;
  /** the newest run reported to this bolt */
  last_run_at: string | null;
  /** the published config's load error, else the newest failed run */
  last_error: { source: 'config' | 'run'; at: string | null; message: string } | null;
  /** the stacks watcher: the head `.live` serves and the newest refused head (docs/spanner.md "Stacks watcher") */
  stacks: StacksSyncState | null;
}

export interface BoltEnvoy {
  id: string;
  hostname: string;
  ip: string | null;
  revoked: boolean;
  last_seen: string | null;
  status: EnvoyView['status'];
  connected: boolean;
}

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

function standalone(reply: FastifyReply): FastifyReply {
  return reply.code(409).send({ message: 'this server is standalone (spanner.mode in server.yaml): no spanner configured', code: 'E_SPANNER_STANDALONE' });
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function showBolt(ctx: ServerContext, b: Bolt): BoltShow {
  const self = b.list().find((x) => x.self)!;
  const now = ctx.now();
  const c = ctx.index.compliance(now);
  let lastSeen: number | null = null;
  let lastRun: number | null = null;
  for (const e of ctx.index.all()) {
    if (e.lastSeenMs !== null && (lastSeen === null || e.lastSeenMs > lastSeen)) lastSeen = e.lastSeenMs;
    if (e.lastRunAt !== null && (lastRun === null || e.lastRunAt > lastRun)) lastRun = e.lastRunAt;
  }
  let lastError: BoltShow['last_error'] = null;
  if (ctx.policy.liveError) lastError = { source: 'config', at: null, message: ctx.policy.liveError };
  else {
    const f = ctx.db.prepare("SELECT r.run_id, e.hostname, r.started_at, r.failed FROM runs r JOIN envoys e ON e.id = r.envoy_id WHERE r.status = 'failed' ORDER BY r.seq DESC LIMIT 1").get() as
      | { run_id: string; hostname: string; started_at: string; failed: number }
      | undefined;
    if (f) lastError = { source: 'run', at: f.started_at, message: `run ${f.run_id} on ${f.hostname} failed (${f.failed} resource(s) failed; \`vigocli runs show ${f.run_id}\`)` };
  }
  return {
    bolt_id: self.bolt_id,
    hostname: self.hostname,
    pubkey: self.pubkey,
    peer_addr: self.peer_addr,
    patterns: self.patterns,
    mode: ctx.config.spanner.mode,
    envoys: { enrolled: ctx.index.size, active: c.active, connected: ctx.checkin.connectedCount, revoked: c.revoked, ...c.counts },
    compliance_pct: c.compliance_pct,
    checkin_interval_s: Math.max(1, Math.round(ctx.config.checkinIntervalMs / 1000)),
    config_version: ctx.policy.version,
    last_checkin: iso(lastSeen),
    last_run_at: iso(lastRun),
    last_error: lastError,
    stacks: ctx.stacks?.state() ?? null,
  };
}

export function boltEnvoys(ctx: ServerContext): BoltEnvoy[] {
  const now = ctx.now();
  return ctx.index
    .all()
    .map((r) => ctx.index.view(r, now))
    .map((v) => ({ id: v.id, hostname: v.hostname, ip: v.ip, revoked: v.revoked, last_seen: v.last_seen, status: v.status, connected: v.connected }))
    .sort((a, z) => a.hostname.localeCompare(z.hostname) || a.id.localeCompare(z.id));
}

export function boltRuns(ctx: ServerContext, limit: number): ReturnType<typeof runView>[] {
  const rows = ctx.db.prepare(`SELECT ${RUN_COLUMNS} FROM runs r JOIN envoys e ON e.id = r.envoy_id ORDER BY r.seq DESC LIMIT ?`).all(limit) as { truncated_bytes: number; resources_omitted: number }[];
  return rows.map(runView);
}

/** What one bolt answered to a merged view, or why it did not. */
export interface MergedBolt {
  bolt_id: string;
  answered: boolean;
  latency_ms: number | null;
  error: string | null;
}

/**
 * Asks every live bolt for `path(id)` (this one answers locally), in parallel, each within
 * MERGE_TIMEOUT_MS; returns the answers and names the bolts that did not answer.
 */
async function gather<T>(ctx: ServerContext, b: Bolt, req: FastifyRequest, path: (id: string) => string, local: () => T): Promise<{ answers: { bolt_id: string; body: T }[]; bolts: MergedBolt[]; missing: string[] }> {
  const p = req.principal!;
  const results = await Promise.all(
    b.liveRoutes().map(async (r): Promise<{ bolt: MergedBolt; body?: T }> => {
      if (r.self) return { bolt: { bolt_id: r.bolt_id, answered: true, latency_ms: null, error: null }, body: local() };
      const t0 = performance.now();
      try {
        const a = await b.forward<T & { message?: string }>(r.peer, 'GET', path(r.bolt_id), undefined, { name: p.name, role: p.role }, MERGE_TIMEOUT_MS);
        if (a.status !== 200) throw new Error(`HTTP ${a.status}: ${typeof a.body === 'object' && a.body !== null && a.body.message ? a.body.message : 'no message'}`);
        return { bolt: { bolt_id: r.bolt_id, answered: true, latency_ms: Math.round(performance.now() - t0), error: null }, body: a.body };
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        ctx.log(`merged view: bolt ${r.bolt_id} at ${r.peer.addr} did not answer: ${why}`);
        return { bolt: { bolt_id: r.bolt_id, answered: false, latency_ms: null, error: why } };
      }
    }),
  );
  return {
    answers: results.filter((x) => x.body !== undefined).map((x) => ({ bolt_id: x.bolt.bolt_id, body: x.body as T })),
    bolts: results.map((x) => x.bolt),
    missing: results.filter((x) => !x.bolt.answered).map((x) => x.bolt.bolt_id),
  };
}

/** The sample server.yaml of a new bolt and the hub's spanner block with it listed (`bolt add`, hub only). */
export function boltTemplate(ctx: ServerContext, b: Bolt, want: { bolt_id: string; addr: string; patterns: string[] }): { bolt_yaml: string; hub_block: string; next: string[] } {
  const c = ctx.config.spanner;
  if (c.mode !== 'hub') throw new VigoError('E_SPANNER_NOT_HUB', `bolt add runs on the hub; this server is a ${c.mode}`, { hint: 'run it against the hub (spanner.mode: hub), e.g. vigocli --server https://HUB:8443 spanner bolt add …' });
  if (!c.advertise) throw new VigoError('E_SPANNER_CONFIG', 'spanner.advertise is not set in the hub\'s server.yaml: a new bolt could not be told where the hub is', { hint: 'set spanner.advertise to the HOST:PORT other bolts dial and restart vigosrv' });
  const taken = (b.gossip ? b.list().map((x) => x.bolt_id) : []).concat(c.bolts.map((x) => x.id));
  if (taken.includes(want.bolt_id)) throw new VigoError('E_BOLT_EXISTS', `bolt id '${want.bolt_id}' is already in the roster or in spanner.bolts`, { hint: 'pick another id (see `vigocli spanner bolt list`)' });
  const port = want.addr.slice(want.addr.lastIndexOf(':') + 1);
  const section = { mode: 'spoke', spanner_id: c.spanner_id, bolt_id: want.bolt_id, advertise: want.addr, patterns: want.patterns, hub_addr: c.advertise, gossip_interval_s: c.gossip_interval_s, gossip_fanout: c.gossip_fanout };
  const parsed = spannerSection.safeParse(section);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new VigoError('E_BOLT_ADD_INVALID', `spanner.${i.path.join('.')}: ${i.message}`, { hint: 'fix --addr (a lowercase HOST:PORT the other bolts dial) or --patterns' });
  }
  const overlap = b.gossip ? b.list().filter((x) => x.status === 'live' && x.patterns.some((p) => want.patterns.includes(p))) : [];
  const bolt_yaml =
    `# server.yaml for bolt ${want.bolt_id} of spanner ${c.spanner_id}, from \`vigocli spanner bolt add\` on hub ${c.bolt_id}\n` +
    stringify({ server: { api_listen: `:${port}` }, spanner: section });
  const hub_block = `# the hub's spanner: block with ${want.bolt_id} listed (bolts are admitted by invite and join; this list is the hub's record)\n` + stringify({ spanner: { ...c, bolts: [...c.bolts, { id: want.bolt_id, addr: want.addr, patterns: want.patterns }] } });
  const next = [
    `on the hub: vigocli spanner bolt invite --ttl 1h --out ${want.bolt_id}.invite`,
    `on ${want.bolt_id} (server.yaml above, vigosrv started): vigocli spanner bolt join --from https://${c.advertise} --code @${want.bolt_id}.invite`,
    ...overlap.map((x) => `note: pattern(s) ${x.patterns.filter((p) => want.patterns.includes(p)).join(',')} are already owned by ${x.bolt_id} (first match wins)`),
  ];
  return { bolt_yaml, hub_block, next };
}

export async function spannerAdminPlugin(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  /** this bolt, for a request the forward hook left here (so the id is this bolt's) */
  const here = (id: string, reply: FastifyReply): Bolt | null => {
    const b = ctx.spanner;
    if (b === null) return void standalone(reply), null;
    if (id !== b.boltId) return void reply.code(404).send({ message: `no bolt '${id}' here`, code: 'E_BOLT_UNKNOWN' }), null;
    return b;
  };
  const answer = async <T>(reply: FastifyReply, fn: () => T | Promise<T>): Promise<T | FastifyReply> => {
    try {
      return await fn();
    } catch (e) {
      const status = e instanceof VigoError ? (SPANNER_STATUS[e.code] ?? ADMIN_STATUS[e.code]) : undefined;
      if (e instanceof VigoError && status !== undefined) return reply.code(status).send({ message: e.hint ? `${e.message} (${e.hint})` : e.message, code: e.code });
      throw e;
    }
  };
  const read = { config: { roles: ['compliance' as const] } };

  app.get<{ Params: { id: string } }>('/api/v1/spanner/bolts/:id', { ...read, schema: { params: idParams } }, async (req, reply) => {
    const b = here(req.params.id, reply);
    return b === null ? reply : answer(reply, () => showBolt(ctx, b));
  });

  app.get<{ Params: { id: string } }>('/api/v1/spanner/bolts/:id/envoys', { ...read, schema: { params: idParams } }, async (req, reply) => {
    const b = here(req.params.id, reply);
    return b === null ? reply : { bolt_id: b.boltId, envoys: boltEnvoys(ctx) };
  });

  const limitQuery = { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: MAX_RUNS_LIMIT, default: 50 } } } as const;
  app.get<{ Params: { id: string }; Querystring: { limit?: number } }>('/api/v1/spanner/bolts/:id/runs', { ...read, schema: { params: idParams, querystring: limitQuery } }, async (req, reply) => {
    const b = here(req.params.id, reply);
    return b === null ? reply : { bolt_id: b.boltId, runs: boltRuns(ctx, req.query.limit ?? 50) };
  });

  app.post<{ Params: { id: string }; Body: { envoy_id?: string } | undefined }>(
    '/api/v1/spanner/bolts/:id/push',
    { schema: { params: idParams, body: { type: ['object', 'null'], additionalProperties: false, properties: { envoy_id: { type: 'string', minLength: 1, maxLength: 253 } } } } },
    async (req, reply) => {
      const b = here(req.params.id, reply);
      if (b === null) return reply;
      const at = new Date(ctx.now()).toISOString();
      const one = req.body?.envoy_id;
      if (one === undefined) {
        const pushed = ctx.checkin.push(null, 'push');
        ctx.log(`bolt push: ${pushed} envoy(s) told to check in, by ${req.principal?.name ?? '?'}`);
        return { bolt_id: b.boltId, pushed, envoys: ctx.index.all().filter((e) => !e.revoked).length, at };
      }
      const rec = ctx.index.find(one);
      if (!rec) return reply.code(404).send({ message: `no envoy '${one}' on bolt ${b.boltId} (see \`vigocli spanner bolt envoys ${b.boltId}\`)`, code: 'E_NO_ENVOY' });
      const pushed = ctx.checkin.push([rec.id], 'push');
      if (pushed === 0) return reply.code(409).send({ message: `envoy ${rec.hostname} (${rec.id}) holds no check-in stream right now (status ${ctx.index.status(rec, ctx.now())})`, code: 'E_NOT_CONNECTED' });
      ctx.log(`bolt push: envoy ${rec.hostname} (${rec.id}) told to check in, by ${req.principal?.name ?? '?'}`);
      return { bolt_id: b.boltId, pushed, envoys: 1, at };
    },
  );

  app.post<{ Body: { bolt_id: string; addr: string; patterns: string[] } }>(
    '/api/v1/spanner/bolt/add',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['bolt_id', 'addr', 'patterns'],
          properties: {
            bolt_id: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
            addr: { type: 'string', minLength: 3, maxLength: 300 },
            patterns: { type: 'array', minItems: 1, maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 253 } },
          },
        },
      },
    },
    async (req, reply) => {
      const b = ctx.spanner;
      if (b === null) return reply.code(409).send({ message: 'bolt add runs on the hub; this server is standalone (spanner.mode in server.yaml): no spanner configured', code: 'E_SPANNER_STANDALONE' });
      return answer(reply, () => boltTemplate(ctx, b, req.body));
    },
  );

  // --- merged views (`--spanner`) ---------------------------------------------------------

  const merged = (reply: FastifyReply): Bolt | null => {
    const b = ctx.spanner;
    if (b === null) return void reply.code(409).send({ message: '--spanner needs a bolt: this server is standalone (spanner.mode in server.yaml)', code: 'E_SPANNER_STANDALONE' }), null;
    return b;
  };

  app.get('/api/v1/spanner/merged/envoys', read, async (req, reply) => {
    const b = merged(reply);
    if (b === null) return reply;
    return answer(reply, async () => {
      const g = await gather(ctx, b, req, (id) => `/api/v1/spanner/bolts/${encodeURIComponent(id)}/envoys`, () => ({ envoys: boltEnvoys(ctx) }));
      const envoys = g.answers.flatMap((a) => a.body.envoys.map((e) => ({ ...e, bolt_id: a.bolt_id }))).sort((a, z) => a.hostname.localeCompare(z.hostname) || a.id.localeCompare(z.id));
      return { asked: b.boltId, bolts: g.bolts, missing: g.missing, envoys };
    });
  });

  app.get<{ Querystring: { limit?: number } }>('/api/v1/spanner/merged/runs', { ...read, schema: { querystring: limitQuery } }, async (req, reply) => {
    const b = merged(reply);
    if (b === null) return reply;
    const limit = req.query.limit ?? 50;
    return answer(reply, async () => {
      const g = await gather(ctx, b, req, (id) => `/api/v1/spanner/bolts/${encodeURIComponent(id)}/runs?limit=${limit}`, () => ({ runs: boltRuns(ctx, limit) }));
      const runs = g.answers
        .flatMap((a) => (a.body.runs as { started_at?: unknown }[]).map((r) => ({ ...r, bolt_id: a.bolt_id })))
        .sort((a, z) => String(z.started_at).localeCompare(String(a.started_at)))
        .slice(0, limit);
      return { asked: b.boltId, bolts: g.bolts, missing: g.missing, runs };
    });
  });

  app.get('/api/v1/spanner/merged/status', read, async (req, reply) => {
    const b = merged(reply);
    if (b === null) return reply;
    return answer(reply, async () => {
      const g = await gather(ctx, b, req, (id) => `/api/v1/spanner/bolts/${encodeURIComponent(id)}`, () => showBolt(ctx, b));
      const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<EnvoyStatus, number>;
      let active = 0;
      let enrolled = 0;
      let revoked = 0;
      let connected = 0;
      for (const { body } of g.answers) {
        for (const s of STATUSES) counts[s] += body.envoys[s] ?? 0;
        active += body.envoys.active;
        enrolled += body.envoys.enrolled;
        revoked += body.envoys.revoked;
        connected += body.envoys.connected;
      }
      const compliance_pct = active === 0 ? 0 : Math.round((counts.converged / active) * 10000) / 100;
      return { asked: b.boltId, bolts: g.bolts, missing: g.missing, totals: { enrolled, active, connected, revoked, ...counts, compliance_pct }, shows: g.answers.map((a) => a.body) };
    });
  });
}

/** HTTP status of the refusals these verbs add to SPANNER_STATUS. */
const ADMIN_STATUS: Record<string, number> = { E_SPANNER_NOT_HUB: 409, E_BOLT_EXISTS: 409, E_BOLT_ADD_INVALID: 400 };
