import type { Resource } from '../../wire/bundle.js';

/**
 * The order resources run in: bundle order, except that a resource runs after everything
 * it requires (a stable topological sort). Assumes no cycles (parseBundle checks).
 */
export function runOrder(resources: readonly Resource[]): Resource[] {
  const byId = new Map(resources.map((r) => [r.id, r]));
  const done = new Set<string>();
  const out: Resource[] = [];
  const visit = (r: Resource): void => {
    if (done.has(r.id)) return;
    done.add(r.id);
    for (const dep of r.require ?? []) {
      const d = byId.get(dep);
      if (d !== undefined) visit(d);
    }
    out.push(r);
  };
  resources.forEach(visit);
  return out;
}
