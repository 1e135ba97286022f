import { fstatFd, fstatat, mkdirat, openDirAt, readdirFd, removeTreeAt, unlinkat, withFd, type FsAtError } from '../../../platform/fsat.js';
import { nodeKind, outcome, withParent, type ApplyContext, type Outcome } from '../context.js';
import { applyMetaFd, planMeta, resolveMeta } from '../meta.js';
import type { Parent } from '../sandbox.js';
import type { DirectoryResource } from '../../../wire/bundle.js';

/** The directory at `p`, never through a symlink (one swapped in after the check is an error). */
function openDir(p: Parent): number {
  try {
    return openDirAt(p.dirfd, p.name);
  } catch (e) {
    if ((e as FsAtError).code === 'ELOOP') throw new Error(`${p.envoy} was replaced by a symlink while being checked; not followed`);
    throw e;
  }
}

export function applyDirectory(r: DirectoryResource, ctx: ApplyContext): Outcome {
  const absent = r.state === 'absent';
  // names resolved (getent) before anything is opened, so nothing sits between check and change
  const want = resolveMeta(absent ? {} : r, ctx.accounts);
  return withParent(ctx, r.path, { destructive: absent, followSymlinks: r.follow_symlinks }, (parent, create) => {
    const st = parent === null ? null : fstatat(parent.dirfd, parent.name);
    if (absent) {
      if (st === null || parent === null) return { status: 'ok', message: 'absent' };
      if (st.kind !== 'dir') throw new Error(`${r.path} is a ${nodeKind(st)}, not a directory; refusing to remove it`);
      const entries = withFd(openDir(parent), (fd) => readdirFd(fd).length);
      if (entries > 0 && r.recurse !== true) {
        throw new Error(`${r.path} is not empty (${entries} entries); set recurse: true to remove it with its contents`);
      }
      if (!ctx.dryRun) {
        if (entries > 0) removeTreeAt(parent.dirfd, parent.name);
        else unlinkat(parent.dirfd, parent.name, { dir: true });
      }
      return outcome([entries > 0 ? `removed with ${entries} ${entries === 1 ? 'entry' : 'entries'}` : 'removed'], ctx.dryRun, '');
    }
    if (st !== null && st.kind !== 'dir') {
      throw new Error(`${r.path} is a ${nodeKind(st)}; refusing to replace it with a directory`);
    }
    if (st === null || parent === null) {
      const changes = [...(parent === null ? ['parent directories created'] : []), 'created'];
      if (ctx.dryRun) return outcome(changes, true, '');
      const p = parent ?? create();
      mkdirat(p.dirfd, p.name, 0o700); // closed until its owner and mode are set
      withFd(openDir(p), (fd) => applyMetaFd(fd, { ...planMeta(null, want), mode: want.mode ?? 0o755 }));
      return outcome(changes, false, '');
    }
    return withFd(openDir(parent), (fd) => {
      // compare and change what this fd is, whatever the path holds by now
      const plan = planMeta(fstatFd(fd), want);
      if (ctx.dryRun || plan.changes.length === 0) return outcome(plan.changes, ctx.dryRun, 'up to date');
      applyMetaFd(fd, plan);
      return outcome(plan.changes, false, '');
    });
  });
}
