import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { AGENT_PROTECTED_PATHS, type ConvergeOptions, type PolicyBundle, type RunReport } from '../../src/agent/engine/index.js';

export const PROTECTED = [...AGENT_PROTECTED_PATHS];

/** A temp envoy root (removed after the test) and the options to converge under it. */
export function envoyRoot(t: TestContext): { root: string; opts: ConvergeOptions } {
  const root = mkdtempSync(join(tmpdir(), 'vgt-engine-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  return { root, opts: { fsRoot: root, protectedPaths: PROTECTED, usercratePolicyDir: join(root, 'var/lib/vigo/usercrate-policy'), hostEnv: process.env } };
}

type Loose = { type: string; configcrate?: string; id?: string } & Record<string, unknown>;

/** A bundle with ids filled in the way the server names them. */
export function bundle(resources: Loose[], version = 1): PolicyBundle {
  return {
    version,
    envoy: 'web-01',
    generated_at: 1764000000,
    resources: resources.map((r) => {
      const crate = r.configcrate ?? 'test';
      const key = r.type === 'user' ? r['name'] : r.type === 'exec' ? (r['name'] ?? r['command']) : r['path'];
      return { ...r, configcrate: crate, id: r.id ?? `${crate}:${r.type}:${String(key)}` };
    }) as unknown as PolicyBundle['resources'],
  };
}

export function statusOf(report: RunReport, id: string): { status: string; message: string } {
  const r = report.resources.find((x) => x.id === id);
  if (r === undefined) throw new Error(`no report entry for ${id}: ${JSON.stringify(report.resources)}`);
  return { status: r.status, message: r.message };
}
