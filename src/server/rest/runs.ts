/**
 * Runs: the most recent convergence runs, newest first, and one run with its summary and
 * stored report. Every row says what was cut from its report (`truncated`: null when it is
 * whole), so an operator never mistakes a capped report for the whole run.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { describeTruncation, type RunSummary } from '../../wire/run-report.js';

export const RUN_COLUMNS =
  'r.run_id, r.envoy_id, e.hostname, r.policy_version, r.started_at, r.duration_ms, r.status, r.ok, r.changed, r.failed, r.configcrates, r.report_bytes, r.truncated_bytes, r.resources_omitted';

interface RunRow {
  truncated_bytes: number;
  resources_omitted: number;
  [k: string]: unknown;
}

/** A row as the API shows it: the cut described in words next to its figures. */
export function runView<T extends RunRow>(row: T): T & { truncated: string | null } {
  return { ...row, truncated: describeTruncation({ bytes: row.truncated_bytes, resources_omitted: row.resources_omitted }) };
}

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
        .prepare(`SELECT ${RUN_COLUMNS} FROM runs r JOIN envoys e ON e.id = r.envoy_id ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY r.seq DESC LIMIT ?`)
        .all(...args, req.query.limit ?? 50) as RunRow[];
      return { runs: rows.map(runView) };
    },
  );

  app.get<{ Params: { run_id: string } }>(
    '/api/v1/runs/:run_id',
    { config: { roles: ['compliance'] }, schema: { params: { type: 'object', required: ['run_id'], properties: { run_id: { type: 'string', pattern: '^[A-Za-z0-9-]{8,64}$' } } } } },
    async (req, reply) => {
      const row = ctx.db.prepare(`SELECT ${RUN_COLUMNS}, r.summary, r.report FROM runs r JOIN envoys e ON e.id = r.envoy_id WHERE r.run_id = ?`).get(req.params.run_id) as
        | (RunRow & { summary: string | null; report: string })
        | undefined;
      if (!row) return reply.code(404).send({ message: `no run '${req.params.run_id}' (runs older than database.runs_kept_per_envoy are pruned; \`vigocli runs list\` shows those kept)` });
      const { summary, report, ...rest } = row;
      return { run: { ...runView(rest), summary: summary === null ? null : (JSON.parse(summary) as RunSummary), report: JSON.parse(report) as unknown } };
    },
  );
}
