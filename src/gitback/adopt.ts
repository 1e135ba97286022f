/**
 * ADR-023 auto-adoption at `vigo swarm puddle unlock` (docs/puddle.md "Auto-adoption at
 * unlock"): for every project a peer announces whose id is sha256(this puddle's key ‖
 * handle) — the user's own project, held on another envoy — and that has no local state
 * here, unlock writes the founder's local state (~/.vigo-gitback/<pid>/: project.json and a
 * bootstrap token the key mints for itself, as `project init` does, no bare repo), so the
 * DR catch-up reactor pulls the bytes. The plan is pure; the hook reads the cache and the
 * user's state and writes what the plan says.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { paths, type Env } from '../platform/paths.js';
import { fromHex, mintBootstrapToken, projectId, toHex, type Hex, type Scope, type Signer } from '../trust/index.js';
import { ANNOUNCED_CACHE_FILE, checkAnnouncedEntry, parseAnnouncedCache, type AnnouncedCache } from '../wire/gitback-announced.js';
import { founderConfig, listProjectIds, saveProject } from './state.js';

/** Projects one unlock adopts at most; the rest wait for the next unlock (each mints a token). */
export const MAX_ADOPT_PER_UNLOCK = 64;

export interface AdoptCandidate {
  projectId: Hex;
  handle: string;
  scope: Scope;
  hosts: string[];
}

export interface AdoptionPlan {
  adopt: AdoptCandidate[];
  /** entries refused as forged (a named founder that does not derive the id) */
  refused: Array<{ projectId: Hex; handle: string | null; reason: string }>;
  /** this puddle's projects already held here */
  held: Hex[];
  /** adoptable but past MAX_ADOPT_PER_UNLOCK */
  deferred: number;
}

/**
 * Which announced projects this puddle adopts: those whose id recomputes from `pubkey` and
 * the announced handle, that are not in `local` (the user's project ids here, tombstoned and
 * broken ones included: those are not re-created behind the user's back). An entry naming a
 * founder whose sha256(founder ‖ handle) is not its id is refused and never adopted.
 */
export function planAdoption(cache: AnnouncedCache, pubkey: Hex, local: ReadonlySet<Hex>): AdoptionPlan {
  const plan: AdoptionPlan = { adopt: [], refused: [], held: [], deferred: 0 };
  const key = fromHex(pubkey);
  const seen = new Set<Hex>();
  for (const e of cache.projects) {
    const c = checkAnnouncedEntry(e);
    if (!c.ok) {
      plan.refused.push({ projectId: e.project_id, handle: e.handle, reason: c.reason });
      continue;
    }
    if (e.handle === null || e.dr_scope === null) continue; // an old 2-field line: the id cannot be recomputed
    if (projectId(key, e.handle) !== e.project_id) continue; // not this puddle's project
    if (seen.has(e.project_id)) continue;
    seen.add(e.project_id);
    if (local.has(e.project_id)) {
      plan.held.push(e.project_id);
      continue;
    }
    if (plan.adopt.length >= MAX_ADOPT_PER_UNLOCK) {
      plan.deferred++;
      continue;
    }
    plan.adopt.push({ projectId: e.project_id, handle: e.handle, scope: e.dr_scope, hosts: e.hosts });
  }
  return plan;
}

/** Writes one adopted project's founder state; returns its directory. */
export async function adoptProject(base: string, signer: Signer, c: AdoptCandidate, now: number): Promise<string> {
  const me = toHex(signer.publicKey);
  const root = await mintBootstrapToken(signer, c.handle, now);
  return saveProject(base, { config: founderConfig(c.projectId, c.handle, me, c.scope, now), chain: [root], delegations: [] });
}

/**
 * The unlock hook's work: never throws (an unlock never fails because of adoption); returns
 * the lines to print, one per adopted project, plus one per refusal or problem.
 */
export async function adoptAtUnlock(env: Env, signer: Signer, now: number): Promise<string[]> {
  const file = join(paths.gitbackBase(env), ANNOUNCED_CACHE_FILE);
  const base = paths.gitbackUserDir(env);
  const lines: string[] = [];
  let plan: AdoptionPlan;
  try {
    if (!existsSync(file)) return [];
    const cache = parseAnnouncedCache(readFileSync(file), file);
    plan = planAdoption(cache, toHex(signer.publicKey), new Set(listProjectIds(base)));
  } catch (e) {
    return [`  Gitback: no auto-adoption (${e instanceof Error ? e.message : String(e)})`];
  }
  for (const r of plan.refused) lines.push(`  Gitback: ignored a forged announce of ${r.handle ?? '?'} (${r.projectId.slice(0, 12)}…): ${r.reason}`);
  for (const c of plan.adopt) {
    try {
      await adoptProject(base, signer, c, now);
      lines.push(`  Gitback: adopted ${c.handle} (${c.projectId.slice(0, 12)}…, held on ${c.hosts.join(', ')}); DR catch-up pulls its bytes`);
    } catch (e) {
      lines.push(`  Gitback: could not adopt ${c.handle} (${c.projectId.slice(0, 12)}…): ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (plan.deferred > 0) lines.push(`  Gitback: ${plan.deferred} more of your project(s) to adopt at the next unlock (at most ${MAX_ADOPT_PER_UNLOCK} at a time)`);
  return lines;
}
