import { readFileSync, unlinkSync } from 'node:fs';
import { writeWithMeta } from '../write.js';
import { ensureParent, lstatOrNull, nodeKind, outcome, type ApplyContext, type Outcome } from '../context.js';
import { applyMeta, planMeta } from '../meta.js';
import type { FileResource } from '../types.js';

export function applyFile(r: FileResource, ctx: ApplyContext): Outcome {
  const absent = r.state === 'absent';
  const { host } = ctx.sandbox.resolve(r.path, { destructive: absent });
  const st = lstatOrNull(host);
  if (absent) {
    if (st === null) return { status: 'ok', message: 'absent' };
    if (st.isDirectory()) throw new Error(`${r.path} is a directory; a file resource does not remove directories`);
    if (!ctx.dryRun) unlinkSync(host);
    return outcome(['removed'], ctx.dryRun, '');
  }
  if (st !== null && !st.isFile() && !st.isSymbolicLink()) {
    throw new Error(`${r.path} is a ${nodeKind(st)}; refusing to replace it with a file`);
  }
  const regular = st !== null && st.isFile() ? st : null;
  const changes: string[] = [];
  let data: string | null = null;
  if (regular === null) {
    data = r.content ?? '';
    changes.push(st === null ? 'created' : 'symlink replaced by a file');
  } else if (r.content !== undefined && r.content !== null) {
    if (!readFileSync(host).equals(Buffer.from(r.content, 'utf8'))) {
      data = r.content;
      changes.push('content updated');
    }
  }
  const plan = planMeta(regular, r, ctx.accounts);
  changes.push(...plan.changes);
  if (data !== null) changes.unshift(...ensureParent(host, ctx.dryRun));
  if (ctx.dryRun || changes.length === 0) return outcome(changes, ctx.dryRun, 'up to date');
  if (data !== null) {
    // the new inode gets the wanted metadata, or the old file's, before it is renamed in
    const mode = plan.mode ?? (regular !== null ? regular.mode & 0o7777 : 0o644);
    writeWithMeta(host, data, mode, plan.uid ?? regular?.uid ?? null, plan.gid ?? regular?.gid ?? null);
    return outcome(changes, false, '');
  }
  applyMeta(host, plan);
  return outcome(changes, false, '');
}

