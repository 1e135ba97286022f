/**
 * One convergence run: every resource of a bundle, in require order, each ending ok,
 * changed or failed. A failure stays with its resource (and whatever requires it); the
 * rest of the run goes on.
 */
import { isVigoError } from '../../platform/errors.js';
import { Accounts } from './accounts.js';
import { parseBundle } from '../../wire/bundle.js';
import { runOrder } from './order.js';
import type { ApplyContext, Outcome } from './context.js';
import { applyDirectory } from './resources/directory.js';
import { applyExec } from './resources/exec.js';
import { applyFile } from './resources/file.js';
import { applySymlink } from './resources/symlink.js';
import { applyUser, pruneStalePolicies } from './resources/user.js';
import { Sandbox } from './sandbox.js';
import type { ConvergeOptions } from './types.js';
import type { PolicyBundle, Resource, ResourceReport, RunReport } from '../../wire/bundle.js';

async function apply(r: Resource, ctx: ApplyContext): Promise<Outcome> {
  switch (r.type) {
    case 'file':
      return applyFile(r, ctx);
    case 'directory':
      return applyDirectory(r, ctx);
    case 'symlink':
      return applySymlink(r, ctx);
    case 'exec':
      return applyExec(r, ctx);
    case 'user':
      return applyUser(r, ctx);
  }
}

/** The error's message, with host paths under fsRoot shown as envoy paths. */
function errorMessage(e: unknown, root = '/'): string {
  const msg = isVigoError(e) || e instanceof Error ? e.message : String(e);
  return root === '/' ? msg : msg.split(root + '/').join('/');
}

export async function converge(bundle: PolicyBundle, opts: ConvergeOptions): Promise<RunReport> {
  const now = opts.now ?? Date.now;
  const started = now();
  // the bundle may come from a cache file or a caller that skipped parsing: check it again
  const checked = parseBundle(bundle);
  const ctx: ApplyContext = {
    sandbox: new Sandbox(opts.fsRoot, opts.protectedPaths),
    accounts: new Accounts(),
    dryRun: opts.dryRun === true,
    usercratePolicyDir: opts.usercratePolicyDir,
    hostEnv: opts.hostEnv,
    swept: new Set(),
  };
  const failed = new Set<string>();
  const reports: ResourceReport[] = [];
  for (const r of runOrder(checked.resources)) {
    const dep = (r.require ?? []).find((d) => failed.has(d));
    let rep: ResourceReport;
    if (dep !== undefined) {
      rep = { id: r.id, type: r.type, status: 'failed', message: `skipped: required resource ${dep} failed` };
    } else {
      try {
        const o = await apply(r, ctx);
        rep = { id: r.id, type: r.type, status: o.status, message: o.message };
      } catch (e) {
        rep = { id: r.id, type: r.type, status: 'failed', message: errorMessage(e, ctx.sandbox.root) };
      }
    }
    if (rep.status === 'failed') failed.add(r.id);
    if (typeof r.name === 'string' && r.name !== '') rep = { id: rep.id, name: r.name, type: rep.type, status: rep.status, message: rep.message };
    reports.push(rep);
  }
  const users = new Set(checked.resources.flatMap((r) => (r.type === 'user' ? [r.name] : [])));
  try {
    for (const u of pruneStalePolicies(opts.usercratePolicyDir, users, ctx.dryRun)) {
      reports.push({
        id: `vigo:user:${u}`,
        type: 'user',
        status: 'changed',
        message: `${ctx.dryRun ? '(dry run) ' : ''}stale usercrate policy removed (no user resource names ${u})`,
      });
    }
  } catch (e) {
    reports.push({ id: 'vigo:user:*', type: 'user', status: 'failed', message: `pruning usercrate policies: ${errorMessage(e)}` });
  }
  const counts = { ok: 0, changed: 0, failed: 0 };
  for (const r of reports) counts[r.status]++;
  return {
    policy_version: checked.version,
    started_at: new Date(started).toISOString(),
    duration_ms: Math.max(0, Math.round(now() - started)),
    status: counts.failed > 0 ? 'failed' : counts.changed > 0 ? 'changed' : 'ok',
    counts,
    configcrates: new Set(checked.resources.map((r) => r.configcrate)).size,
    resources: reports,
  };
}
