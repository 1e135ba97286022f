/**
 * Parsing the stacks tree into configcrates and match blocks, collecting every problem
 * (file + line) instead of stopping at the first.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { TYPE_FIELDS, checkKind, isResourceType, RESOURCE_TYPES } from '../../wire/bundle-schema.js';
import { compileGlob } from './glob.js';
import { parseTemplate } from './template.js';
import type { Configcrate, FieldValue, MatchBlock, StackResource, StacksProblem } from './types.js';
import { AliasError, defineOwn, entries, plain, readYaml, type YamlFile } from './yamlfile.js';

export const ENVOYS_FILE = 'envoys.vgo';
export const CRATES_DIR = 'configcrates';
/** Why a symlink in the stacks is refused (the publish copy says the same, so validate and publish agree). */
export const SYMLINK_REFUSED = 'is a symbolic link: vigo does not follow symlinks in stacks (one could pull in files from outside stacks/); put the file itself here';
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const VAR_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Fields a stacks file must not set: the server derives them. */
const DERIVED = new Set(['id', 'configcrate']);

export interface ParsedTree {
  crates: Map<string, Configcrate>;
  /** configcrates whose file exists but did not parse: references to them are not "missing" */
  broken: Set<string>;
  envoys: MatchBlock[];
  /** the files read, relative, sorted — what the fingerprint covers */
  files: string[];
}

function problemAt(problems: StacksProblem[], file: string, line: number | null) {
  return (message: string): void => {
    problems.push({ file, line, message });
  };
}

/** Plain JS of a node, or a problem when it holds an alias. */
function valueOf(y: YamlFile, node: Node | null, problems: StacksProblem[]): { ok: true; v: unknown } | { ok: false } {
  try {
    return { ok: true, v: plain(node) };
  } catch (e) {
    if (!(e instanceof AliasError)) throw e;
    problems.push({ file: y.file, line: y.line(node), message: e.message });
    return { ok: false };
  }
}

function parseVars(y: YamlFile, node: Node | null, where: string, problems: StacksProblem[]): Record<string, string> {
  const vars: Record<string, string> = {};
  if (node === null) return vars;
  if (!isMap(node)) {
    problems.push({ file: y.file, line: y.line(node), message: `${where}: must be a map of name: value` });
    return vars;
  }
  for (const [k, v, line] of entries(y, node)) {
    const say = problemAt(problems, y.file, line);
    if (!VAR_RE.test(k)) {
      say(`${where}.${k}: not a valid variable name (letters, digits, _; not starting with a digit)`);
      continue;
    }
    const val = isScalar(v) ? v.value : undefined;
    if (typeof val === 'string' || typeof val === 'boolean' || (typeof val === 'number' && Number.isFinite(val))) defineOwn(vars, k, String(val));
    else say(`${where}.${k}: must be a string, number or boolean (lists, maps and null are not supported)`);
  }
  return vars;
}

function parseResource(y: YamlFile, node: Node | null, index: number, problems: StacksProblem[]): StackResource | null {
  const at = `resources[${index}]`;
  const rline = y.line(node);
  if (!isMap(node)) {
    problems.push({ file: y.file, line: rline, message: `${at}: must be a map with a type` });
    return null;
  }
  const pairs = entries(y, node);
  const typePair = pairs.find(([k]) => k === 'type');
  const type = typePair !== undefined && isScalar(typePair[1]) ? typePair[1].value : undefined;
  if (!isResourceType(type)) {
    problems.push({
      file: y.file,
      line: typePair?.[2] ?? rline,
      message: `${at}.type: ${typePair === undefined ? 'is required' : `unknown resource type ${JSON.stringify(type)}`} (known: ${RESOURCE_TYPES.join(', ')})`,
    });
    return null;
  }
  const spec = TYPE_FIELDS[type];
  const res: StackResource = { type, index, line: rline, fields: {}, require: [] };
  let ok = true;
  for (const [k, v, line] of pairs) {
    const say = (m: string): void => {
      ok = false;
      problems.push({ file: y.file, line, message: `${at}.${k}: ${m}` });
    };
    if (k === 'type') continue;
    const pv = valueOf(y, v, problems);
    if (!pv.ok) {
      ok = false;
      continue;
    }
    if (k === 'require') {
      if (!Array.isArray(pv.v) || !pv.v.every((x) => typeof x === 'string')) say('must be a list of resource references ("type:path" or "configcrate:type:path")');
      else if (isSeq(v)) {
        (pv.v as string[]).forEach((ref, j) => {
          const rl = y.line(v.items[j] as Node, line);
          const tp = parseTemplate(ref);
          if ('error' in tp) {
            ok = false;
            problems.push({ file: y.file, line: rl, message: `${at}.require[${j}]: ${tp.error}` });
          } else res.require.push({ ref, line: rl, template: tp });
        });
      }
      continue;
    }
    if (DERIVED.has(k)) {
      say('is filled in by the server when it resolves the bundle; remove it');
      continue;
    }
    const fs = Object.hasOwn(spec, k) ? spec[k] : undefined;
    if (fs === undefined) {
      say(`unknown field for a ${type} resource (known: type, require, ${Object.keys(spec).join(', ')})`);
      continue;
    }
    const why = checkKind(pv.v, fs);
    if (why !== null) {
      say(k === 'mode' && typeof pv.v === 'number' ? 'must be a quoted octal string like "0644" (YAML reads 0644 as the number 644)' : why);
      continue;
    }
    const fv: FieldValue = { value: pv.v, line: y.line(v, line) };
    if (typeof pv.v === 'string') {
      const t = parseTemplate(pv.v);
      if ('error' in t) {
        say(t.error);
        continue;
      }
      fv.template = t;
    }
    res.fields[k] = fv;
  }
  for (const [k, fs] of Object.entries(spec)) {
    if (fs.required === true && !(k in res.fields) && !pairs.some(([pk]) => pk === k)) {
      ok = false;
      problems.push({ file: y.file, line: rline, message: `${at}.${k}: is required for a ${type} resource` });
    }
  }
  return ok ? res : null;
}

function parseCrate(y: YamlFile, expectName: string, problems: StacksProblem[]): Configcrate | null {
  const root = y.contents;
  if (!isMap(root)) {
    problems.push({ file: y.file, line: y.line(root), message: 'must be a map with name, vars and resources' });
    return null;
  }
  const crate: Configcrate = { name: expectName, file: y.file, vars: {}, resources: [] };
  let sawName = false;
  for (const [k, v, line] of entries(y, root)) {
    const say = problemAt(problems, y.file, line);
    if (k === 'name') {
      sawName = true;
      const n = isScalar(v) ? v.value : undefined;
      if (n !== expectName) say(`name: must be "${expectName}", the file's name without .vgo (got ${JSON.stringify(n ?? null)})`);
    } else if (k === 'description') {
      if (!(isScalar(v) && typeof v.value === 'string')) say('description: must be a string');
    } else if (k === 'vars') {
      crate.vars = parseVars(y, v, 'vars', problems);
    } else if (k === 'resources') {
      if (v === null || (isScalar(v) && v.value === null)) continue;
      if (!isSeq(v)) {
        say('resources: must be a list');
        continue;
      }
      v.items.forEach((item, i) => {
        const r = parseResource(y, item as Node, i, problems);
        if (r !== null) crate.resources.push(r);
      });
    } else say(`${k}: unknown key (known: name, description, vars, resources)`);
  }
  if (!sawName) problems.push({ file: y.file, line: 1, message: `name: is required (must be "${expectName}")` });
  return crate;
}

function parseEnvoys(y: YamlFile, problems: StacksProblem[]): MatchBlock[] {
  const root = y.contents;
  if (root === null) return []; // an empty envoys.vgo: no envoy gets a bundle yet
  if (!isSeq(root)) {
    problems.push({ file: y.file, line: y.line(root), message: 'must be a list of match blocks (- match: "web-*" …)' });
    return [];
  }
  const blocks: MatchBlock[] = [];
  root.items.forEach((item, i) => {
    const node = item as Node;
    const at = `[${i}]`;
    const line = y.line(node);
    if (!isMap(node)) {
      problems.push({ file: y.file, line, message: `${at}: must be a map with match and configcrates` });
      return;
    }
    const block: MatchBlock = { index: i, match: '', configcrates: [], configcrateLines: [], vars: {}, file: y.file, line };
    let ok = true;
    const seen = new Set<string>();
    for (const [k, v, kline] of entries(y, node)) {
      const say = (m: string, l = kline): void => {
        ok = false;
        problems.push({ file: y.file, line: l, message: `${at}.${k}: ${m}` });
      };
      if (k === 'match') {
        const g = isScalar(v) ? v.value : undefined;
        if (typeof g !== 'string') say('must be a hostname glob string');
        else {
          const re = compileGlob(g);
          if (!(re instanceof RegExp)) say(re.error);
          block.match = g;
        }
      } else if (k === 'configcrates') {
        if (!isSeq(v)) {
          say('must be a list of configcrate names');
          continue;
        }
        v.items.forEach((c, j) => {
          const n = isScalar(c) ? c.value : undefined;
          const cl = y.line(c as Node, kline);
          if (typeof n !== 'string' || !NAME_RE.test(n)) say(`[${j}] must be a configcrate name`, cl);
          else if (seen.has(n)) say(`[${j}] "${n}" is listed twice`, cl);
          else {
            seen.add(n);
            block.configcrates.push(n);
            block.configcrateLines.push(cl);
          }
        });
      } else if (k === 'vars') {
        block.vars = parseVars(y, v, `${at}.vars`, problems);
      } else say('unknown key (known: match, configcrates, vars)');
    }
    for (const req of ['match', 'configcrates']) {
      if (!entries(y, node).some(([k]) => k === req)) {
        ok = false;
        problems.push({ file: y.file, line, message: `${at}.${req}: is required` });
      }
    }
    if (ok) blocks.push(block);
  });
  return blocks;
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

export function parseTree(dir: string, problems: StacksProblem[]): ParsedTree {
  const tree: ParsedTree = { crates: new Map(), broken: new Set(), envoys: [], files: [] };
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    problems.push({ file: dir, line: null, message: 'stacks directory not found' });
    return tree;
  }
  const cratesDir = join(dir, CRATES_DIR);
  const cratesLink = isSymlink(cratesDir);
  if (cratesLink) problems.push({ file: CRATES_DIR, line: null, message: SYMLINK_REFUSED });
  const names = !cratesLink && existsSync(cratesDir) && statSync(cratesDir).isDirectory() ? readdirSync(cratesDir).sort() : [];
  for (const fname of names) {
    if (!fname.endsWith('.vgo') || fname.startsWith('.')) continue; // editor droppings, notes
    const rel = `${CRATES_DIR}/${fname}`;
    const name = fname.slice(0, -'.vgo'.length);
    if (isSymlink(join(cratesDir, fname))) {
      problems.push({ file: rel, line: null, message: SYMLINK_REFUSED });
      tree.broken.add(name);
      continue;
    }
    tree.files.push(rel);
    if (!NAME_RE.test(name)) {
      problems.push({ file: rel, line: null, message: `"${name}" is not a valid configcrate name (letters, digits, . _ -; at most 64)` });
      tree.broken.add(name);
      continue;
    }
    const y = readYaml(join(cratesDir, fname), rel, problems);
    const crate = y === null ? null : parseCrate(y, name, problems);
    if (crate === null) tree.broken.add(name);
    else tree.crates.set(name, crate);
  }
  const envoysPath = join(dir, ENVOYS_FILE);
  if (isSymlink(envoysPath)) {
    problems.push({ file: ENVOYS_FILE, line: null, message: SYMLINK_REFUSED });
  } else if (!existsSync(envoysPath)) {
    problems.push({ file: ENVOYS_FILE, line: null, message: 'missing: the stacks need an envoys.vgo with the match blocks' });
  } else {
    tree.files.push(ENVOYS_FILE);
    const y = readYaml(envoysPath, ENVOYS_FILE, problems);
    if (y !== null) tree.envoys = parseEnvoys(y, problems);
  }
  tree.files.sort();
  return tree;
}

/** sha256 over the sorted relative names and contents of the files the stacks are made of. */
export function fingerprint(dir: string, files: readonly string[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort()) {
    const data = readFileSync(join(dir, f));
    h.update(`${f}\0${data.length}\0`);
    h.update(data);
  }
  return h.digest('hex');
}
