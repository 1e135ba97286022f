/**
 * Expanding configcrates into bundle resources for one scope (a match block's vars and a
 * hostname): templates rendered, values checked, ids derived, requires resolved,
 * duplicates found. Validation runs it with a placeholder hostname for every match block;
 * resolveBundle runs it for the real envoy.
 */
import type { Resource } from '../../wire/bundle.js';
import { checkResourceValues, isResourceType, resourceKey } from '../../wire/bundle-schema.js';
import { resourceLabel } from './parse.js';
import { renderTemplate } from './template.js';
import type { Configcrate, StacksProblem } from './types.js';

export interface Scope {
  vars: Readonly<Record<string, string>>;
  hostname: string;
  /** "envoys.vgo:3" — where the vars come from, for messages; null: configcrate defaults only */
  block: string | null;
  /** skip undefined-variable problems (a configcrate no match block uses yet) */
  allowUndefined?: boolean;
}

/** Where a resource's path/name/label must be unique within one bundle. */
function uniquenessKey(type: string, key: string): { key: string; what: string } {
  if (type === 'user') return { key: `user\0${key}`, what: `user "${key}"` };
  if (type === 'exec') return { key: `exec\0${key}`, what: `exec "${key}"` };
  return { key: `path\0${key}`, what: `path ${key}` };
}

/** Resolve a `require` reference written in a configcrate to a bundle id. */
export function requireId(crate: string, ref: string): string {
  const first = ref.split(':')[0];
  return isResourceType(first) ? `${crate}:${ref}` : ref;
}

export function expand(crates: readonly Configcrate[], scope: Scope): { resources: Resource[]; problems: StacksProblem[] } {
  const problems: StacksProblem[] = [];
  const resources: Resource[] = [];
  const seen = new Map<string, string>();
  /** ids of resources declared, including ones with other problems (no cascade of "no resource") */
  const declared = new Set<string>();
  const requires: Array<{ crate: Configcrate; at: string; id: string; line: number }> = [];
  const inBlock = scope.block === null ? '' : ` (in the bundle of the match block at ${scope.block})`;
  for (const crate of crates) {
    const vars = { ...crate.vars, ...scope.vars };
    for (const r of crate.resources) {
      const at = resourceLabel(r.index, r.fields['name']?.value);
      const rendered: Record<string, unknown> = {};
      let ok = true;
      const undefinedVar = (field: string, line: number, names: string[]): void => {
        ok = false;
        if (scope.allowUndefined === true) return;
        const from = scope.block === null ? 'the configcrate vars' : `the configcrate vars nor the match block at ${scope.block}`;
        problems.push({ file: crate.file, line, message: `${at}.${field}: undefined variable ${names.map((v) => `.Vars.${v}`).join(', ')} (not set by ${from})` });
      };
      for (const [k, fv] of Object.entries(r.fields)) {
        if (fv.template === undefined) {
          rendered[k] = fv.value;
          continue;
        }
        const out = renderTemplate(fv.template, { vars, hostname: scope.hostname });
        if ('value' in out) rendered[k] = out.value;
        else undefinedVar(k, fv.line, out.undefinedVars);
      }
      const refs = r.require.map((q, j) => {
        const out = renderTemplate(q.template, { vars, hostname: scope.hostname });
        if ('value' in out) return out.value;
        undefinedVar(`require[${j}]`, q.line, out.undefinedVars);
        return '';
      });
      // check what did render, so one undefined var does not hide other problems
      const bad = checkResourceValues(r.type, rendered).filter(([f]) => f in rendered || !(f in r.fields));
      for (const [field, why] of bad) problems.push({ file: crate.file, line: r.fields[field]?.line ?? r.line, message: `${at}.${field}: ${why}` });
      const keyFields = r.type === 'user' ? ['name'] : r.type === 'exec' ? ['name', 'command'] : ['path'];
      if (keyFields.every((f) => f in rendered || !(f in r.fields)) && !bad.some(([f]) => keyFields.includes(f))) {
        const u = uniquenessKey(r.type, resourceKey(r.type, rendered));
        declared.add(`${crate.name}:${r.type}:${resourceKey(r.type, rendered)}`);
        const prev = seen.get(u.key);
        if (prev !== undefined) {
          ok = false;
          problems.push({ file: crate.file, line: r.line, message: `${at}: duplicate ${u.what}, also declared at ${prev}${inBlock}` });
        } else seen.set(u.key, `${crate.file}:${r.line}`);
      }
      if (!ok || bad.length > 0) continue;
      const key = resourceKey(r.type, rendered);
      const id = `${crate.name}:${r.type}:${key}`;
      const res: Record<string, unknown> = { id, configcrate: crate.name, type: r.type, ...rendered };
      if (r.require.length > 0) {
        res['require'] = r.require.map((q, j) => {
          const rid = requireId(crate.name, refs[j] ?? '');
          requires.push({ crate, at: `${at}.require[${j}]`, id: rid, line: q.line });
          return rid;
        });
      }
      resources.push(res as unknown as Resource);
    }
  }
  for (const q of requires) {
    if (!declared.has(q.id)) problems.push({ file: q.crate.file, line: q.line, message: `${q.at}: no resource "${q.id}"${inBlock}` });
  }
  return { resources, problems };
}
