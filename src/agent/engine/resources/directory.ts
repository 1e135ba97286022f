import { mkdirSync, readdirSync, rmSync, rmdirSync } from 'node:fs';
import { ensureParent, lstatOrNull, nodeKind, outcome, type ApplyContext, type Outcome } from '../context.js';
import { applyMeta, planMeta } from '../meta.js';
import type { DirectoryResource } from '../types.js';

export function applyDirectory(r: DirectoryResource, ctx: ApplyContext): Outcome {
  const absent = r.state === 'absent';
  const { host } = ctx.sandbox.resolve(r.path, { destructive: absent });
  const st = lstatOrNull(host);
  if (absent) {
    if (st === null) return { status: 'ok', message: 'absent' };
    if (!st.isDirectory()) throw new Error(`${r.path} is a ${nodeKind(st)}, not a directory; refusing to remove it`);
    const entries = readdirSync(host).length;
    if (entries > 0 && r.recurse !== true) {
      throw new Error(`${r.path} is not empty (${entries} entries); set recurse: true to remove it with its contents`);
    }
    if (!ctx.dryRun) {
      if (entries > 0) rmSync(host, { recursive: true });
      else rmdirSync(host);
    }
    return outcome([entries > 0 ? `removed with ${entries} ${entries === 1 ? 'entry' : 'entries'}` : 'removed'], ctx.dryRun, '');
  }
  if (st !== null && !st.isDirectory()) {
    throw new Error(`${r.path} is a ${nodeKind(st)}; refusing to replace it with a directory`);
  }
  const plan = planMeta(st, r, ctx.accounts);
  const changes = st === null ? [...ensureParent(host, ctx.dryRun), 'created'] : plan.changes;
  if (ctx.dryRun || changes.length === 0) return outcome(changes, ctx.dryRun, 'up to date');
  if (st === null) mkdirSync(host, { mode: 0o755 });
  applyMeta(host, plan);
  return outcome(changes, false, '');
}
