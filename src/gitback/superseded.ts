/**
 * Whether this puddle's key has been superseded by a rekey made on another envoy (issue 12
 * item 5: `puddle status` on an envoy that has not adopted a rekey says so). The evidence is
 * the delegation records in the user's project state on this envoy (~/.vigo-gitback/<pid>/
 * delegations.json, refreshed by `project rejoin`, adoption at unlock and catch-up): a
 * delegation whose `prev_founder` is the key this envoy holds means the puddle moved on.
 * Records are followed to the newest key (new_founder → the next prev_founder). Nothing
 * here goes to the network; a project whose state does not load is skipped.
 */
import { loadAll } from './state.js';
import type { Hex } from '../trust/index.js';

export interface Superseded {
  /** the newest key the records reach */
  newer: Hex;
  /** the project whose delegations say so, and its handle */
  projectId: Hex;
  handle: string;
}

export function supersededKey(base: string, pubHex: Hex): Superseded | null {
  let projects;
  try {
    projects = loadAll(base);
  } catch {
    return null;
  }
  for (const p of projects) {
    const next = new Map(p.delegations.map((d) => [d.prev_founder, d.new_founder] as const));
    if (!next.has(pubHex)) continue;
    let k = pubHex;
    const seen = new Set<Hex>([k]);
    while (next.has(k) && !seen.has(next.get(k) as Hex)) {
      k = next.get(k) as Hex;
      seen.add(k);
    }
    return { newer: k, projectId: p.config.project_id, handle: p.config.handle };
  }
  return null;
}
