/**
 * INTERIM stand-in for src/agent/engine (owned by the agent branch, CONTRACTS §3) so the
 * check-in loop converges real files before that module lands. engine-port.ts switches to
 * the real engine when it is merged, and this file is deleted.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { writeFileAtomic, writeJsonAtomic } from '../../platform/atomic.js';
import { VigoError } from '../../platform/errors.js';

export interface BundleResource {
  id: string;
  configcrate: string;
  type: string;
  [k: string]: unknown;
}
export interface PolicyBundle {
  version: number;
  envoy: string;
  generated_at: number;
  resources: BundleResource[];
}
export interface ConvergeOptions {
  fsRoot: string;
  protectedPaths: string[];
  usercratePolicyDir: string;
  now?: () => number;
  dryRun?: boolean;
}
export interface ResourceResult {
  id: string;
  type: string;
  status: 'ok' | 'changed' | 'failed';
  message?: string;
}
export interface RunReport {
  policy_version: number;
  started_at: string;
  duration_ms: number;
  status: 'ok' | 'changed' | 'failed';
  counts: { ok: number; changed: number; failed: number };
  configcrates: number;
  resources: ResourceResult[];
}

export function parseBundle(json: unknown): PolicyBundle {
  const b = json as PolicyBundle;
  if (typeof b !== 'object' || b === null || typeof b.version !== 'number' || !Array.isArray(b.resources)) throw new VigoError('E_BAD_BUNDLE', 'bundle: needs version and resources');
  b.resources.forEach((r, i) => {
    if (typeof r?.id !== 'string' || typeof r.type !== 'string') throw new VigoError('E_BAD_BUNDLE', `bundle: resources[${i}] needs id and type`);
  });
  return b;
}

function under(root: string, p: string): string {
  return resolve(root, '.' + resolve('/', p));
}

function one(r: BundleResource, o: ConvergeOptions): ResourceResult {
  const res = (status: ResourceResult['status'], message?: string): ResourceResult => ({ id: r.id, type: r.type, status, ...(message ? { message } : {}) });
  const path = typeof r.path === 'string' ? r.path : undefined;
  if (path && o.protectedPaths.some((p) => resolve('/', path) === p || resolve('/', path).startsWith(p + '/'))) return res('failed', `refused: ${path} is one of the agent's own paths`);
  const absent = r.state === 'absent';
  try {
    switch (r.type) {
      case 'file': {
        const f = under(o.fsRoot, path ?? '');
        if (absent) {
          if (!existsSync(f)) return res('ok');
          rmSync(f, { force: true });
          return res('changed', 'removed');
        }
        const content = String(r.content ?? '');
        const mode = typeof r.mode === 'string' ? parseInt(r.mode, 8) : 0o644;
        let changed: string | undefined;
        if (!existsSync(f) || readFileSync(f, 'utf8') !== content) {
          writeFileAtomic(f, content, { mode, mkdirMode: 0o755 });
          changed = 'content updated';
        }
        if ((statSync(f).mode & 0o7777) !== mode) {
          chmodSync(f, mode);
          changed ??= 'mode updated';
        }
        return changed ? res('changed', changed) : res('ok');
      }
      case 'directory': {
        const d = under(o.fsRoot, path ?? '');
        if (absent) {
          if (!existsSync(d)) return res('ok');
          rmSync(d, { recursive: true, force: true });
          return res('changed', 'removed');
        }
        if (existsSync(d)) return res('ok');
        mkdirSync(d, { recursive: true, mode: typeof r.mode === 'string' ? parseInt(r.mode, 8) : 0o755 });
        return res('changed', 'created');
      }
      case 'symlink': {
        const l = under(o.fsRoot, path ?? '');
        const target = String(r.target ?? '');
        const cur = (() => {
          try {
            return lstatSync(l).isSymbolicLink() ? readlinkSync(l) : '';
          } catch {
            return null;
          }
        })();
        if (absent) {
          if (cur === null) return res('ok');
          rmSync(l, { force: true });
          return res('changed', 'removed');
        }
        if (cur === target) return res('ok');
        if (cur !== null) rmSync(l, { force: true });
        mkdirSync(dirname(l), { recursive: true });
        symlinkSync(target, l);
        return res('changed', 'linked');
      }
      case 'exec': {
        if (typeof r.creates === 'string' && existsSync(under(o.fsRoot, r.creates))) return res('ok');
        if (typeof r.unless === 'string') {
          try {
            execFileSync('/bin/sh', ['-c', r.unless], { stdio: 'ignore', cwd: o.fsRoot });
            return res('ok');
          } catch {
            /* guard failed: run */
          }
        }
        execFileSync('/bin/sh', ['-c', String(r.command ?? 'true')], { stdio: 'ignore', cwd: o.fsRoot, timeout: Number(r.timeout_s ?? 300) * 1000 });
        return res('changed', 'ran');
      }
      case 'user': {
        const name = String(r.name ?? '');
        const f = join(o.usercratePolicyDir, `${name}.json`);
        const want = JSON.stringify({ user: name, puddle: r.puddle === true, gitback: r.gitback === true }, null, 2) + '\n';
        if (existsSync(f) && readFileSync(f, 'utf8') === want) return res('ok');
        writeJsonAtomic(f, JSON.parse(want), { mkdirMode: 0o755 });
        return res('changed', 'usercrate policy written');
      }
      default:
        return res('failed', `unknown resource type '${r.type}'`);
    }
  } catch (e) {
    return res('failed', e instanceof Error ? e.message : String(e));
  }
}

export async function converge(bundle: PolicyBundle, opts: ConvergeOptions): Promise<RunReport> {
  const now = opts.now ?? Date.now;
  const t0 = now();
  const resources = bundle.resources.map((r) => one(r, opts));
  const counts = { ok: 0, changed: 0, failed: 0 };
  for (const r of resources) counts[r.status]++;
  return {
    policy_version: bundle.version,
    started_at: new Date(t0).toISOString(),
    duration_ms: now() - t0,
    status: counts.failed ? 'failed' : counts.changed ? 'changed' : 'ok',
    counts,
    configcrates: new Set(bundle.resources.map((r) => r.configcrate)).size,
    resources,
  };
}
