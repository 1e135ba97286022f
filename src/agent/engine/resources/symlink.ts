import { renameSync, rmSync, symlinkSync, unlinkSync, readlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { ensureParent, lstatOrNull, nodeKind, outcome, type ApplyContext, type Outcome } from '../context.js';
import type { SymlinkResource } from '../types.js';

/** Point `host` at `target` atomically: a new link beside it, renamed over it. */
function placeLink(host: string, target: string): void {
  const tmp = join(dirname(host), `.${basename(host)}.link-${process.pid}-${randomBytes(4).toString('hex')}`);
  symlinkSync(target, tmp);
  renameSync(tmp, host);
}

export function applySymlink(r: SymlinkResource, ctx: ApplyContext): Outcome {
  const absent = r.state === 'absent';
  const { host } = ctx.sandbox.resolve(r.path, { destructive: absent || r.force === true });
  const st = lstatOrNull(host);
  if (absent) {
    if (st === null) return { status: 'ok', message: 'absent' };
    if (!st.isSymbolicLink()) throw new Error(`${r.path} is a ${nodeKind(st)}, not a symlink; refusing to remove it`);
    if (!ctx.dryRun) unlinkSync(host);
    return outcome(['removed'], ctx.dryRun, '');
  }
  const target = r.target ?? '';
  const want = ctx.sandbox.linkTarget(target);
  const changes: string[] = [];
  if (st === null) {
    changes.push(...ensureParent(host, ctx.dryRun), `created → ${target}`);
  } else if (st.isSymbolicLink()) {
    const cur = readlinkSync(host);
    if (cur === want) return { status: 'ok', message: `up to date → ${target}` };
    changes.push(`target ${cur} → ${target}`);
  } else {
    if (r.force !== true) {
      throw new Error(`${r.path} is a ${nodeKind(st)}; set force: true to replace it with a symlink`);
    }
    changes.push(`${nodeKind(st)} replaced by a symlink → ${target}`);
  }
  if (ctx.dryRun) return outcome(changes, true, '');
  if (st !== null && !st.isSymbolicLink()) rmSync(host, { recursive: true });
  placeLink(host, want);
  return outcome(changes, false, '');
}
