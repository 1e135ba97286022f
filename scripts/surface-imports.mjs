#!/usr/bin/env node
/**
 * Keeps imports on the declared module surfaces (docs/architecture.md).
 *
 *   node scripts/surface-imports.mjs            rewrite src/, test/ and bench/ in place
 *   node scripts/surface-imports.mjs --check    change nothing; list what a rewrite would
 *                                               change, surface names that are missing,
 *                                               forbidden layer edges and import cycles;
 *                                               exit 1 if there is any (`npm run lint` runs it)
 *
 * A rewrite (idempotent: a second run changes nothing):
 *  1. points imports of a file that moved (MOVED_FILES) or of a name that moved out of a
 *     file (MOVED_NAMES) at the new home, splitting an import list when only some names moved;
 *  2. points an import of `src/<sub>/<internal>` from outside the subsystem at
 *     `src/<sub>/index.ts`. A subsystem is any folder of src/ but platform, wire and cli.
 *     Its own files, `test/<sub>/**` and `bench/<sub>[-*].bench.ts` may use its internals.
 *     A name the internal file only re-exports from src/wire/ or src/platform/ is pointed there.
 * A name the surface does not export is reported (with the export line to add), not added:
 * what a surface names is a decision, not a side effect of a merge.
 * Re-run it after merging a branch that still imports old paths or internals.
 */
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SHARED = new Set(['platform', 'wire', 'cli']);

/** Files that moved (repo-relative, .ts). Keep old entries: other branches may still use them. */
export const MOVED_FILES = {
  'src/server/checkin/proto.ts': 'src/wire/checkin.ts',
  'src/server/client/https.ts': 'src/wire/rest-client.ts',
  'src/agent/engine/schema.ts': 'src/wire/bundle-schema.ts',
  'src/agent/engine/bundle.ts': 'src/wire/bundle.ts',
  'src/server/run-report.ts': 'src/wire/run-report.ts',
  'src/cli/version.ts': 'src/wire/version.ts',
  'src/agent/services.ts': 'src/cli/vigo/agent/services.ts',
};

/** Names that moved out of a file that stays. */
export const MOVED_NAMES = {
  'src/server/pki.ts': {
    'src/wire/enroll.ts': ['CertValidity', 'certValidity', 'renewalDueAt', 'createEnvoyCsr', 'createEnvoyRenewalCsr', 'certCommonName', 'certFingerprint', 'exportKeyPem'],
  },
  'src/server/tokens.ts': { 'src/wire/enroll.ts': ['enrollTokenCaPrefix', 'formatEnrollToken'] },
  'src/agent/engine/types.ts': {
    'src/wire/bundle.ts': [
      'ResourceState', 'FileResource', 'DirectoryResource', 'SymlinkResource', 'ExecResource', 'UserResource',
      'Resource', 'ResourceType', 'PolicyBundle', 'ResourceStatus', 'ResourceReport', 'RunReport',
    ],
  },
  'src/wire/bundle.ts': { 'src/agent/engine/order.ts': ['runOrder'] },
  'src/puddle/index.ts': {
    'src/puddle/identity.ts': ['puddleDir', 'isInitialized', 'readPublicKey', 'isUnlocked', 'readNameClaim', 'readSessionUnlocked'],
  },
};

const rel = (abs) => relative(ROOT, abs).split(sep).join('/');

function walk(dir, out = []) {
  if (!existsSync(join(ROOT, dir))) return out;
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The subsystem a repo path belongs to, or null (shared library, entry layer, outside src/). */
export function subsystemOf(path) {
  const m = /^src\/([^/]+)\//.exec(path);
  return m && !SHARED.has(m[1]) ? m[1] : null;
}

/** `src/<sub>/index.ts` and narrow `src/<sub>/index-<part>.ts` surfaces. */
export function isSurface(path) {
  return /^src\/[^/]+\/index(-[a-z0-9-]+)?\.ts$/.test(path);
}

/** May `importer` import `target` (both repo paths)? Returns null or the reason it may not. */
export function surfaceViolation(importer, target) {
  const sub = subsystemOf(target);
  if (sub === null || isSurface(target)) return null;
  if (importer.startsWith(`src/${sub}/`) || importer.startsWith(`test/${sub}/`)) return null;
  if (importer === `bench/${sub}.bench.ts` || importer.startsWith(`bench/${sub}-`)) return null;
  return `src/${sub}/index.ts`;
}

const sources = new Map();
function source(path) {
  let s = sources.get(path);
  if (!s) {
    const text = readFileSync(join(ROOT, path), 'utf8');
    s = { text, ast: ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS) };
    sources.set(path, s);
  }
  return s;
}

/** Repo path of the .ts file a relative specifier names, or null. */
function targetOf(importer, spec) {
  if (!spec.startsWith('.')) return null;
  const at = (dir) => rel(resolve(ROOT, dir, spec)).replace(/\.js$/, '.ts');
  let p = at(dirname(importer));
  // a moved file's own imports still name paths from where it was
  const old = Object.keys(MOVED_FILES).find((k) => MOVED_FILES[k] === importer);
  if (old && !existsSync(join(ROOT, p)) && existsSync(join(ROOT, at(dirname(old))))) p = at(dirname(old));
  if (old && !existsSync(join(ROOT, p)) && MOVED_FILES[at(dirname(old))]) p = at(dirname(old));
  return p.startsWith('..') ? null : p;
}

function specFor(importer, target) {
  let r = relative(dirname(join(ROOT, importer)), join(ROOT, target)).split(sep).join('/').replace(/\.ts$/, '.js');
  if (!r.startsWith('.')) r = `./${r}`;
  return r;
}

/** Every name a module exports (following `export *`). */
const exportCache = new Map();
function exportsOf(path, seen = new Set()) {
  if (exportCache.has(path)) return exportCache.get(path);
  const names = new Set();
  if (seen.has(path) || !existsSync(join(ROOT, path))) return names;
  seen.add(path);
  for (const st of source(path).ast.statements) {
    if (ts.isExportDeclaration(st)) {
      if (st.exportClause && ts.isNamedExports(st.exportClause)) for (const el of st.exportClause.elements) names.add(el.name.text);
      else if (!st.exportClause && st.moduleSpecifier) {
        const t = targetOf(path, st.moduleSpecifier.text);
        if (t) for (const n of exportsOf(t, seen)) names.add(n);
      }
      continue;
    }
    if (!ts.canHaveModifiers(st) || !(ts.getModifiers(st) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) if (ts.isIdentifier(d.name)) names.add(d.name.text);
    else if (st.name && ts.isIdentifier(st.name)) names.add(st.name.text);
  }
  exportCache.set(path, names);
  return names;
}

/** The import-like nodes of a file: static imports, re-exports and `import('…')` calls. */
function importNodes(ast) {
  const out = [];
  const visit = (n) => {
    if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier && ts.isStringLiteral(n.moduleSpecifier)) out.push({ node: n, lit: n.moduleSpecifier });
    else if (ts.isCallExpression(n) && n.expression.kind === ts.SyntaxKind.ImportKeyword && n.arguments[0] && ts.isStringLiteral(n.arguments[0])) out.push({ node: n, lit: n.arguments[0], dynamic: true });
    ts.forEachChild(n, visit);
  };
  visit(ast);
  return out;
}

/** Named specifiers of an import/export declaration, or null when it has none to split. */
function namedSpecifiers(node) {
  if (ts.isImportDeclaration(node)) {
    const c = node.importClause;
    if (!c || c.name || !c.namedBindings || !ts.isNamedImports(c.namedBindings)) return null;
    return c.namedBindings.elements;
  }
  if (ts.isExportDeclaration(node) && node.exportClause && ts.isNamedExports(node.exportClause)) return node.exportClause.elements;
  return null;
}

function isTypeOnly(node) {
  if (ts.isImportDeclaration(node)) {
    const c = node.importClause;
    if (!c) return false;
    if (c.isTypeOnly) return true;
    const els = namedSpecifiers(node);
    return !c.name && els !== null && els.length > 0 && els.every((e) => e.isTypeOnly);
  }
  if (ts.isExportDeclaration(node)) {
    if (node.isTypeOnly) return true;
    const els = namedSpecifiers(node);
    return els !== null && els.length > 0 && els.every((e) => e.isTypeOnly);
  }
  return false;
}

const originalName = (el) => (el.propertyName ?? el.name).text;

/** The src/wire or src/platform file `path` re-exports all of `names` from, or null. */
function sharedHome(path, names) {
  let found = null;
  for (const n of names) {
    let from = null;
    for (const st of source(path).ast.statements) {
      if (!ts.isExportDeclaration(st) || !st.moduleSpecifier || !st.exportClause || !ts.isNamedExports(st.exportClause)) continue;
      if (!st.exportClause.elements.some((el) => el.name.text === n && originalName(el) === n)) continue;
      from = nameHome(targetOf(path, st.moduleSpecifier.text), n);
    }
    if (from === null || !/^src\/(wire|platform)\//.test(from) || (found !== null && found !== from)) return null;
    found = from;
  }
  return found;
}

/** Moves are followed only to a file that exists (a tree from before a move is left alone). */
const exists = (p) => existsSync(join(ROOT, p));

function movedTarget(target) {
  let t = target;
  for (let i = 0; i < 10 && MOVED_FILES[t] && exists(MOVED_FILES[t]); i++) t = MOVED_FILES[t];
  return t;
}

function nameHome(target, name) {
  let t = movedTarget(target);
  for (let i = 0; i < 10; i++) {
    const m = MOVED_NAMES[t];
    const to = m && Object.keys(m).find((k) => m[k].includes(name) && exists(k));
    if (!to) break;
    t = movedTarget(to);
  }
  return t;
}

/** Plans the edits of one file: [{ start, end, text }] and problems. */
function planFile(path, problems) {
  const { text, ast } = source(path);
  const edits = [];
  for (const { node, lit, dynamic } of importNodes(ast)) {
    const target = targetOf(path, lit.text);
    if (target === null) continue;
    const els = dynamic ? null : namedSpecifiers(node);
    // group the names by where they live now
    const groups = new Map();
    if (els) {
      for (const el of els) {
        const home = nameHome(target, originalName(el));
        if (!groups.has(home)) groups.set(home, []);
        groups.get(home).push(el);
      }
    } else {
      const home = movedTarget(target);
      if (MOVED_NAMES[home] && !dynamic) problems.push(`${path}: imports ${target} as a whole; some of its names moved (${Object.keys(MOVED_NAMES[home]).join(', ')}): fix by hand`);
      groups.set(home, null);
    }
    // then onto the surface
    const final = new Map();
    for (const [home, list] of groups) {
      let to = home;
      let surface = surfaceViolation(path, home);
      const shared = surface !== null && list ? sharedHome(home, list.map(originalName)) : null;
      if (shared) {
        to = shared;
        surface = null;
      }
      if (surface !== null) {
        to = surface;
        const have = exportsOf(surface);
        for (const el of list ?? []) {
          const n = originalName(el);
          if (!have.has(n)) problems.push(`${path}: ${surface} does not export ${n}; add: export ${el.isTypeOnly || isTypeOnly(node) ? 'type ' : ''}{ ${n} } from '${specFor(surface, home)}';`);
        }
      }
      if (!final.has(to)) final.set(to, []);
      if (list) final.get(to).push(...list);
      else final.set(to, null);
    }
    if (final.size === 1) {
      const [to] = final.keys();
      const spec = specFor(path, to);
      if (to !== target || spec !== lit.text) edits.push({ start: lit.getStart(ast) + 1, end: lit.getEnd() - 1, text: spec });
      continue;
    }
    // split one declaration into one per home
    const isImport = ts.isImportDeclaration(node);
    const typeKw = (isImport ? node.importClause.isTypeOnly : node.isTypeOnly) ? 'type ' : '';
    const kw = isImport ? 'import' : 'export';
    const lines = [...final].map(([to, list]) => `${kw} ${typeKw}{ ${list.map((el) => el.getText(ast)).join(', ')} } from '${specFor(path, to)}';`);
    edits.push({ start: node.getStart(ast), end: node.getEnd(), text: lines.join('\n') });
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  out = mergeImports(path, out);
  return out === text ? null : out;
}

/** Joins `import { a } from 'x'; import { b } from 'x';` (a rewrite onto one surface makes them). */
function mergeImports(path, text) {
  const ast = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const groups = new Map();
  for (const st of ast.statements) {
    if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier) || st.attributes) continue;
    const els = namedSpecifiers(st);
    if (els === null) continue;
    const key = `${st.importClause.isTypeOnly ? 'type ' : ''}${st.moduleSpecifier.text}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(st);
  }
  const edits = [];
  for (const [key, list] of groups) {
    if (list.length < 2) continue;
    const names = [...new Set(list.flatMap((st) => namedSpecifiers(st).map((el) => el.getText(ast))))];
    const typeKw = key.startsWith('type ') ? 'type ' : '';
    edits.push({ start: list[0].getStart(ast), end: list[0].getEnd(), text: `import ${typeKw}{ ${names.join(', ')} } from '${list[0].moduleSpecifier.text}';` });
    for (const st of list.slice(1)) {
      let end = st.getEnd();
      if (text[end] === '\n') end++;
      edits.push({ start: st.getFullStart() === st.getStart(ast) ? st.getStart(ast) : st.getStart(ast), end, text: '' });
    }
  }
  let out = text;
  for (const e of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/** Runtime import edges of src/ (type-only imports are erased by tsc and cannot cycle). */
function runtimeGraph(files) {
  const g = new Map();
  for (const f of files) {
    const edges = new Set();
    for (const { node, lit, dynamic } of importNodes(source(f).ast)) {
      if (!dynamic && isTypeOnly(node)) continue;
      const t = targetOf(f, lit.text);
      if (t && existsSync(join(ROOT, t))) edges.add(t);
    }
    g.set(f, [...edges]);
  }
  return g;
}

/** Strongly connected components with more than one file (Tarjan), each as a cycle path. */
export function findCycles(g) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const cycles = [];
  const strong = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const comp = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (g.get(v) ?? []).includes(v)) cycles.push(pathThrough(g, new Set(comp), comp[comp.length - 1]));
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) strong(v);
  return cycles;
}

/** One concrete cycle inside a component, for the message: a → b → … → a. */
function pathThrough(g, comp, start) {
  const prev = new Map([[start, null]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of g.get(v) ?? []) {
      if (!comp.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = prev.get(u)) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...comp];
}

/** Layer rules the per-import lint rule cannot see alone. */
function layerProblems(files) {
  const out = [];
  for (const f of files) {
    const from = subsystemOf(f);
    if (from === null) continue;
    for (const { lit } of importNodes(source(f).ast)) {
      const t = targetOf(f, lit.text);
      if (t === null) continue;
      if (t.startsWith('src/cli/')) out.push(`${f}: imports the entry layer (${t}); move what it needs to src/wire/ or its own subsystem`);
      const to = subsystemOf(t);
      if ((from === 'agent' && to === 'server') || (from === 'server' && to === 'agent')) out.push(`${f}: ${from} imports ${to} (${t}); a format both speak belongs in src/wire/`);
    }
  }
  return out;
}

function main() {
  const check = process.argv.includes('--check');
  const files = [...walk('src'), ...walk('test'), ...walk('bench')];
  const problems = [];
  const changed = [];
  for (const f of files) {
    const out = planFile(f, problems);
    if (out === null) continue;
    changed.push(f);
    if (!check) writeFileSync(join(ROOT, f), out);
  }
  const src = files.filter((f) => f.startsWith('src/'));
  if (!check) sources.clear();
  const layers = layerProblems(src);
  const cycles = findCycles(runtimeGraph(src));
  for (const f of changed) console.log(check ? `would rewrite ${f}` : `rewrote ${f}`);
  for (const p of problems) console.log(`surface: ${p}`);
  for (const p of layers) console.log(`layer: ${p}`);
  for (const c of cycles) console.log(`cycle: ${c.join(' -> ')}`);
  const bad = (check ? changed.length : 0) + problems.length + layers.length + cycles.length;
  if (check && bad > 0) console.log('fix: node scripts/surface-imports.mjs (rewrites imports); surface names, layers and cycles are fixed by hand (docs/architecture.md)');
  process.exitCode = bad > 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
