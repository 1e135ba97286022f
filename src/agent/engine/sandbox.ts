/**
 * Where an envoy path lands on this host, and whether the engine may touch it.
 * Envoy paths are joined under fsRoot; the deepest existing ancestor is resolved with
 * realpath so a symlinked parent cannot carry a write outside the root or into the
 * agent's own directories. The leaf itself is never followed (resources lstat it).
 */
import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { VigoError } from '../../platform/errors.js';
import { checkEnvoyPath } from './schema.js';

/** A resource the guardrails refuse; reported as failed with this message. */
export class Refusal extends Error {}

export function isWithin(child: string, parent: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && rel !== '..' && !rel.startsWith('../') && !isAbsolute(rel);
}

function isSameOrWithin(child: string, parent: string): boolean {
  return child === parent || isWithin(child, parent);
}

/** realpath of the deepest existing ancestor of `p` (not `p` itself), plus the rest. */
function canonicalParent(p: string): string {
  const tail: string[] = [basename(p)];
  let dir = dirname(p);
  for (;;) {
    let exists = false;
    try {
      lstatSync(dir);
      exists = true;
    } catch {
      /* keep climbing */
    }
    if (exists || dir === dirname(dir)) break;
    tail.unshift(basename(dir));
    dir = dirname(dir);
  }
  return join(realpathSync(dir), ...tail);
}

export interface Resolved {
  /** the host path to operate on (parent canonicalised, leaf not followed) */
  host: string;
  envoy: string;
}

export class Sandbox {
  readonly root: string;
  private readonly protectedHost: Array<{ envoy: string; host: string }>;

  constructor(fsRoot: string, protectedPaths: readonly string[]) {
    if (!isAbsolute(fsRoot) || !existsSync(fsRoot)) {
      throw new VigoError('E_ENGINE_ROOT', `filesystem root ${fsRoot} does not exist or is not absolute`, {
        hint: 'check VIGO_ROOT (or the agent configuration) names an existing directory',
      });
    }
    this.root = realpathSync(fsRoot);
    this.protectedHost = protectedPaths.map((p) => {
      const why = checkEnvoyPath(p);
      if (why !== null) throw new VigoError('E_ENGINE_PROTECTED', `protected path ${p}: ${why}`);
      const joined = join(this.root, p);
      let host = joined;
      try {
        host = existsSync(joined) ? realpathSync(joined) : canonicalParent(joined);
      } catch {
        /* unreadable: compare lexically */
      }
      return { envoy: p, host };
    });
  }

  /** The canonical host form of an envoy path, refusing escapes; no protection check. */
  private hostOf(envoyPath: string, field: string): string {
    const why = checkEnvoyPath(envoyPath);
    if (why !== null) throw new Refusal(`refused: ${field} ${why}`);
    const joined = join(this.root, envoyPath);
    if (!isWithin(joined, this.root)) throw new Refusal(`refused: ${field} ${envoyPath} is outside the filesystem root`);
    const host = canonicalParent(joined);
    if (!isWithin(host, this.root)) {
      throw new Refusal(`refused: ${field} ${envoyPath} leads outside the filesystem root through a symlinked parent`);
    }
    return host;
  }

  /**
   * Resolve a path a resource will change. `destructive`: the operation may remove what
   * is there (absent, force), so it is also refused on an ancestor of a protected path.
   */
  resolve(envoyPath: string, opts: { destructive: boolean; field?: string }): Resolved {
    const field = opts.field ?? 'path';
    const host = this.hostOf(envoyPath, field);
    for (const p of this.protectedHost) {
      if (isSameOrWithin(host, p.host)) {
        throw new Refusal(`refused: ${envoyPath} is inside the agent's own path ${p.envoy}; no resource may touch it`);
      }
      if (opts.destructive && isWithin(p.host, host)) {
        throw new Refusal(`refused: removing or replacing ${envoyPath} would remove the agent's own path ${p.envoy}`);
      }
    }
    return { host, envoy: envoyPath };
  }

  /** Resolve a path the engine only looks at (exec `creates`). */
  resolveForRead(envoyPath: string, field: string): string {
    return this.hostOf(envoyPath, field);
  }

  /** The host form of a symlink target: absolute targets are re-rooted under fsRoot. */
  linkTarget(target: string): string {
    return isAbsolute(target) ? join(this.root, target) : target;
  }
}
