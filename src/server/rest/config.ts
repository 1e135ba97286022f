/** Stacks: validate, publish (validate → swap `.live/` → reload), reload, version. */
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { VigoError } from '../../platform/errors.js';
import { StacksInvalidError } from '../publish/publish.js';

export async function configPlugin(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  app.get('/api/v1/config/version', { config: { roles: ['compliance'] } }, async () => ({ version: ctx.policy.version, loaded: ctx.policy.loaded, live_error: ctx.policy.liveError }));

  app.post('/api/v1/config/validate', async () => {
    const problems = await ctx.policy.validate();
    return { valid: problems.length === 0, stacks_dir: ctx.config.stacksDir, problems };
  });

  app.post('/api/v1/config/publish', async (req, reply) => {
    try {
      const { version, files } = await ctx.policy.publish();
      const pushed = ctx.config.checkin.push_on_publish ? ctx.checkin.push(null, 'publish') : 0;
      ctx.log(`published stacks as version ${version} (${files} files) by ${req.principal?.name ?? '?'}`);
      return { version, files, pushed };
    } catch (e) {
      if (e instanceof StacksInvalidError) return reply.code(422).send({ message: e.message, problems: e.problems });
      throw e;
    }
  });

  app.post('/api/v1/config/reload', async (_req, reply) => {
    try {
      return { version: ctx.policy.reload() };
    } catch (e) {
      if (e instanceof VigoError) return reply.code(422).send({ message: e.message });
      throw e;
    }
  });
}
