/**
 * Plugins here share the root scope (hooks and decorators apply to every route), which is
 * what fastify-plugin does; this is the same one-liner without the dependency.
 */
import type { FastifyInstance } from 'fastify';

export type ScopedPlugin<O> = (app: FastifyInstance, opts: O) => Promise<void>;

export default function fp<O>(fn: ScopedPlugin<O>): ScopedPlugin<O> {
  (fn as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return fn;
}
