import { fstatat, readlinkat, removeTreeAt, unlinkat } from '../../../platform/fsat.js';
import { placeLinkAt } from '../write.js';
import { nodeKind, outcome, sweepOnce, withParent, type ApplyContext, type Outcome } from '../context.js';
import type { SymlinkResource } from '../../../wire/bundle.js';

export function applySymlink(r: SymlinkResource, ctx: ApplyContext): Outcome {
  const absent = r.state === 'absent';
  return withParent(ctx, r.path, { destructive: absent || r.force === true, followSymlinks: r.follow_symlinks }, (parent, create) => {
    const changes = parent === null ? [] : sweepOnce(ctx, parent.dirfd);
    const st = parent === null ? null : fstatat(parent.dirfd, parent.name);
    if (absent) {
      if (st === null || parent === null) return outcome(changes, ctx.dryRun, 'absent');
      if (st.kind !== 'symlink') throw new Error(`${r.path} is a ${nodeKind(st)}, not a symlink; refusing to remove it`);
      if (!ctx.dryRun) unlinkat(parent.dirfd, parent.name);
      return outcome([...changes, 'removed'], ctx.dryRun, '');
    }
    const target = r.target ?? '';
    const want = ctx.sandbox.linkTarget(target);
    if (st === null || parent === null) {
      changes.push(...(parent === null ? ['parent directories created'] : []), `created → ${target}`);
    } else if (st.kind === 'symlink') {
      const cur = readlinkat(parent.dirfd, parent.name);
      if (cur === want) return outcome(changes, ctx.dryRun, `up to date → ${target}`);
      changes.push(`target ${cur} → ${target}`);
    } else {
      if (r.force !== true) {
        throw new Error(`${r.path} is a ${nodeKind(st)}; set force: true to replace it with a symlink`);
      }
      changes.push(`${nodeKind(st)} replaced by a symlink → ${target}`);
    }
    if (ctx.dryRun) return outcome(changes, true, '');
    const p = parent ?? create();
    if (st !== null && st.kind !== 'symlink') removeTreeAt(p.dirfd, p.name); // by fds: a link inside is unlinked, not followed
    placeLinkAt(p.dirfd, p.name, want);
    return outcome(changes, false, '');
  });
}
