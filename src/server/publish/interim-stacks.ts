/**
 * INTERIM stand-in for src/server/stacks (owned by the agent branch, CONTRACTS §4), so the
 * server loop runs before that module lands. Supports the contract's layout and the
 * resource fields of §3; stacks-port.ts switches to the real module when it is merged and
 * this file is deleted.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parseDocument, LineCounter } from 'yaml';
import { VigoError } from '../../platform/errors.js';

export interface StacksProblem {
  file: string;
  line: number | null;
  message: string;
}
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
interface Configcrate {
  name: string;
  vars: Record<string, unknown>;
  resources: Record<string, unknown>[];
}
interface MatchBlock {
  match: string;
  configcrates: string[];
  vars: Record<string, unknown>;
}
export interface Stacks {
  configcrates: Map<string, Configcrate>;
  envoys: MatchBlock[];
  fingerprint: string;
}

const TYPES = new Set(['file', 'directory', 'symlink', 'exec', 'user']);

function readYaml(file: string, problems: StacksProblem[]): unknown {
  const text = readFileSync(file, 'utf8');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) problems.push({ file, line: lc.linePos(e.pos[0]).line, message: e.message.split('\n')[0] ?? 'YAML error' });
    return undefined;
  }
  return doc.toJS();
}

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parse(dir: string): { stacks: Stacks; problems: StacksProblem[] } {
  const problems: StacksProblem[] = [];
  const crates = new Map<string, Configcrate>();
  const hash = createHash('sha256');
  const cdir = join(dir, 'configcrates');
  const files = existsSync(cdir) ? readdirSync(cdir).filter((f) => f.endsWith('.vgo')).sort() : [];
  for (const f of files) {
    const file = join(cdir, f);
    hash.update(f).update('\0').update(readFileSync(file)).update('\0');
    const doc = readYaml(file, problems);
    if (doc === undefined) continue;
    if (!isMap(doc) || typeof doc.name !== 'string') {
      problems.push({ file, line: 1, message: 'a configcrate needs a `name`' });
      continue;
    }
    const resources = Array.isArray(doc.resources) ? doc.resources : [];
    resources.forEach((r, i) => {
      if (!isMap(r) || typeof r.type !== 'string' || !TYPES.has(r.type)) problems.push({ file, line: null, message: `resources[${i}]: unknown or missing type` });
    });
    crates.set(doc.name, { name: doc.name, vars: isMap(doc.vars) ? doc.vars : {}, resources: resources.filter(isMap) });
  }
  const efile = join(dir, 'envoys.vgo');
  const blocks: MatchBlock[] = [];
  if (!existsSync(efile)) problems.push({ file: efile, line: null, message: 'missing envoys.vgo' });
  else {
    hash.update('envoys.vgo\0').update(readFileSync(efile));
    const doc = readYaml(efile, problems);
    if (doc !== undefined) {
      if (!Array.isArray(doc)) problems.push({ file: efile, line: 1, message: 'envoys.vgo must be a list of match blocks' });
      else
        doc.forEach((b, i) => {
          if (!isMap(b) || typeof b.match !== 'string') return problems.push({ file: efile, line: null, message: `[${i}]: a match block needs \`match\`` });
          const cc = Array.isArray(b.configcrates) ? b.configcrates.map(String) : [];
          for (const c of cc) if (!crates.has(c)) problems.push({ file: efile, line: null, message: `[${i}]: unknown configcrate '${c}'` });
          blocks.push({ match: b.match, configcrates: cc, vars: isMap(b.vars) ? b.vars : {} });
        });
    }
  }
  return { stacks: { configcrates: crates, envoys: blocks, fingerprint: hash.digest('hex') }, problems };
}

export function validateStacks(dir: string): StacksProblem[] {
  return parse(dir).problems;
}

export function loadStacks(dir: string): Stacks {
  const { stacks, problems } = parse(dir);
  if (problems.length) throw new VigoError('E_STACKS_INVALID', problems.map((p) => `${p.file}:${p.line ?? '?'}: ${p.message}`).join('\n'));
  return stacks;
}

function globMatch(glob: string, s: string): boolean {
  const re = new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  return re.test(s);
}

function render(v: unknown, vars: Record<string, unknown>, hostname: string): unknown {
  if (typeof v !== 'string') return v;
  return v.replace(/\{\{\s*\.(Vars|Envoy)\.([A-Za-z0-9_]+)\s*\}\}/g, (_m, scope: string, key: string) =>
    scope === 'Vars' ? String(vars[key] ?? '') : key === 'hostname' ? hostname : '',
  );
}

export function resolveBundle(stacks: Stacks, hostname: string, version: number, now: number = Math.floor(Date.now() / 1000)): PolicyBundle | null {
  const block = stacks.envoys.find((b) => globMatch(b.match, hostname));
  if (!block) return null;
  const resources: BundleResource[] = [];
  for (const name of block.configcrates) {
    const crate = stacks.configcrates.get(name);
    if (!crate) continue;
    const vars = { ...crate.vars, ...block.vars };
    for (const r of crate.resources) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) out[k] = render(v, vars, hostname);
      const key = (out.path ?? out.name ?? out.command) as string;
      resources.push({ ...out, id: `${name}:${String(out.type)}:${key}`, configcrate: name, type: String(out.type) });
    }
  }
  return { version, envoy: hostname, generated_at: now, resources };
}
