/**
 * The swarm mesh views (issue 14; docs/swarm.md "Mesh views", wire-formats.md §22), read-only,
 * built from the traits the envoys report through check-in: what vigosrv publishes, never
 * arbitrates. Reads, so admin and viewer tokens (auth.ts).
 *
 *   GET /api/v1/swarm/gitback/fleet   per project: hosts, tips, divergent refs, envelopes
 *   GET /api/v1/swarm/puddle/fleet    per puddle: name, envoys, users, health band
 *   GET /api/v1/swarm/puddle/names    the fleet name map (name-map.json's shape)
 */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

export async function swarmFleetPlugin(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get('/api/v1/swarm/gitback/fleet', async () => ctx.checkin.fleet.gitbackView(ctx.now()));
  app.get('/api/v1/swarm/puddle/fleet', async () => ctx.checkin.fleet.puddleView(ctx.now()));
  app.get('/api/v1/swarm/puddle/names', async () => ctx.checkin.fleet.nameMap());
}
