import { readFileSync } from 'node:fs';
import { O, fstatFd, fstatat, openat, unlinkat, withFd, type FsAtError } from '../../../platform/fsat.js';
import { writeAt } from '../write.js';
import { nodeKind, outcome, sweepOnce, withParent, type ApplyContext, type Outcome } from '../context.js';
import { applyMetaFd, planMeta, resolveMeta } from '../meta.js';
import type { Parent } from '../sandbox.js';
import type { FileResource } from '../../../wire/bundle.js';

/** The regular file at `p`, opened without following a link or blocking on a fifo swapped in. */
function openRegular(p: Parent): number {
  try {
    return openat(p.dirfd, p.name, O.RDONLY | O.NOFOLLOW | O.NONBLOCK);
  } catch (e) {
    if ((e as FsAtError).code === 'ELOOP') throw new Error(`${p.envoy} was replaced by a symlink while being checked; not followed`);
    throw e;
  }
}

export function applyFile(r: FileResource, ctx: ApplyContext): Outcome {
  const absent = r.state === 'absent';
  // names resolved (getent) before anything is opened, so nothing sits between check and change
  const want = resolveMeta(absent ? {} : r, ctx.accounts);
  return withParent(ctx, r.path, { destructive: absent, followSymlinks: r.follow_symlinks }, (parent, create) => {
    const changes = parent === null ? [] : sweepOnce(ctx, parent.dirfd);
    const st = parent === null ? null : fstatat(parent.dirfd, parent.name);
    if (absent) {
      if (st === null || parent === null) return outcome(changes, ctx.dryRun, 'absent');
      if (st.kind === 'dir') throw new Error(`${r.path} is a directory; a file resource does not remove directories`);
      if (!ctx.dryRun) unlinkat(parent.dirfd, parent.name);
      return outcome([...changes, 'removed'], ctx.dryRun, '');
    }
    if (st !== null && st.kind !== 'file' && st.kind !== 'symlink') {
      throw new Error(`${r.path} is a ${nodeKind(st)}; refusing to replace it with a file`);
    }
    if (st === null || st.kind === 'symlink' || parent === null) {
      // nothing there, or a link (replaced, never followed): a new file with the wanted metadata
      if (parent === null) changes.push('parent directories created');
      changes.push(st === null ? 'created' : 'symlink replaced by a file');
      if (ctx.dryRun) return outcome(changes, true, '');
      const p = parent ?? create();
      const plan = planMeta(null, want);
      writeAt(p.dirfd, p.name, r.content ?? '', plan.mode ?? 0o644, plan.uid, plan.gid);
      return outcome(changes, false, '');
    }
    return withFd(openRegular(parent), (fd) => {
      // compare and change what this fd is, whatever the path holds by now
      const cur = fstatFd(fd);
      if (cur.kind !== 'file') throw new Error(`${r.path} changed into a ${nodeKind(cur)} while being checked; not touched`);
      const managed = r.content !== undefined && r.content !== null;
      const bytes = managed || cur.nlink > 1 ? readFileSync(fd) : null;
      let data: Buffer | null = null;
      if (managed && bytes !== null && !bytes.equals(Buffer.from(r.content as string, 'utf8'))) {
        data = Buffer.from(r.content as string, 'utf8');
        changes.push('content updated');
      }
      const plan = planMeta(cur, want);
      changes.push(...plan.changes);
      if (data === null && plan.changes.length > 0 && cur.nlink > 1 && bytes !== null) {
        // another name of this inode may be a file the crate never named: this path gets its own
        data = bytes;
        changes.push(`own copy made (it had ${cur.nlink - 1} other hard ${cur.nlink === 2 ? 'link' : 'links'})`);
      }
      if (ctx.dryRun || changes.length === 0) return outcome(changes, ctx.dryRun, 'up to date');
      if (data !== null) {
        // the new inode gets the wanted metadata, or the old file's, before it is renamed in
        writeAt(parent.dirfd, parent.name, data, plan.mode ?? cur.mode & 0o7777, plan.uid ?? cur.uid, plan.gid ?? cur.gid);
      } else {
        applyMetaFd(fd, plan);
      }
      return outcome(changes, false, '');
    });
  });
}
