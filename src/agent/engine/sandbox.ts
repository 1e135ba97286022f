/**
 * Where an envoy path lands on this host, and whether the engine may touch it.
 * Envoy paths are joined under fsRoot. Two layers:
 *  - `resolve` (by path, before anything is opened): the deepest existing ancestor is
 *    resolved with realpath, so a symlinked parent cannot carry a write outside the root or
 *    into the agent's own directories;
 *  - `openParent` (by fd, what the resources use): the parent is opened from '/' one
 *    component at a time with O_NOFOLLOW, following only symlinks no user but root could
 *    have placed (or any, with `follow_symlinks: true`); the checks are made again on the
 *    kernel's name for the opened fd, and the resource then works relative to that fd, so
 *    a user who swaps a directory for a link afterwards changes nothing.
 * The leaf itself is never followed.
 */
import { closeSync, existsSync, lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { VigoError } from '../../platform/errors.js';
import { fdPath, openDirNoFollow, type AtStat, type FsAtError } from '../../platform/fsat.js';
import { checkEnvoyPath } from '../../wire/bundle-schema.js';

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

/** The opened parent directory of a path a resource changes; the resource works relative to it. */
export interface Parent {
  dirfd: number;
  /** the leaf's name in dirfd */
  name: string;
  /** host path of the leaf (the parent as the kernel names dirfd), for messages */
  host: string;
  envoy: string;
}

/**
 * Why a symlink met in a parent may have been placed by a user other than root, or null
 * when only root could have: owned by root, in a directory only root can write (or a
 * sticky one, where nobody else may rename root's entries).
 */
export function linkRisk(uid: number, holder: AtStat): string | null {
  if (uid !== 0) return `owned by uid ${uid}, not root`;
  if (holder.uid !== 0) return `owned by uid 0 in a directory uid ${holder.uid} can write`;
  if ((holder.mode & 0o022) !== 0 && (holder.mode & 0o1000) === 0) return 'owned by uid 0 in a directory others can write';
  return null;
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
    this.checkProtected(host, envoyPath, opts.destructive);
    return { host, envoy: envoyPath };
  }

  private checkProtected(host: string, envoyPath: string, destructive: boolean): void {
    for (const p of this.protectedHost) {
      if (isSameOrWithin(host, p.host)) {
        throw new Refusal(`refused: ${envoyPath} is inside the agent's own path ${p.envoy}; no resource may touch it`);
      }
      if (destructive && isWithin(p.host, host)) {
        throw new Refusal(`refused: removing or replacing ${envoyPath} would remove the agent's own path ${p.envoy}`);
      }
    }
  }

  /**
   * Open the parent directory of a path a resource will change, by fd, never through a
   * symlink a user could have placed (unless `followSymlinks`). Null when a parent does not
   * exist and `create` is false; with `create`, missing parents are made (0755, the
   * agent's). The caller closes `dirfd`.
   */
  openParent(envoyPath: string, opts: { destructive: boolean; followSymlinks?: boolean | undefined; create?: boolean }): Parent | null {
    this.resolve(envoyPath, opts);
    let refused: string | null = null;
    const followSymlink = (link: string, uid: number, holder: AtStat): boolean => {
      const risk = linkRisk(uid, holder);
      if (risk === null || opts.followSymlinks === true) return true;
      refused = `${link} is a symlink ${risk}`;
      return false;
    };
    let dirfd: number;
    try {
      dirfd = openDirNoFollow(join(this.root, dirname(envoyPath)), { followSymlink, ...(opts.create === true ? { create: { mode: 0o755 } } : {}) });
    } catch (e) {
      const code = (e as FsAtError).code;
      if (refused !== null && code === 'ELOOP') {
        throw new Refusal(`refused: ${envoyPath}: ${refused}; not followed (set follow_symlinks: true on the resource to follow it)`);
      }
      if (code === 'ENOENT' && opts.create !== true) return null;
      throw e;
    }
    try {
      // what the fd is, not what the path said: the same checks on the kernel's name for it
      const real = fdPath(dirfd);
      if (!real.startsWith('/')) throw new Error(`cannot tell where the opened parent of ${envoyPath} is (${real}): is /proc mounted?`);
      const name = basename(envoyPath);
      const host = join(real, name);
      if (!isWithin(host, this.root)) {
        throw new Refusal(`refused: ${envoyPath} leads outside the filesystem root through a symlinked parent`);
      }
      this.checkProtected(host, envoyPath, opts.destructive);
      return { dirfd, name, host, envoy: envoyPath };
    } catch (e) {
      closeSync(dirfd);
      throw e;
    }
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
