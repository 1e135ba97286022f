/**
 * Parsing the stacks tree into configcrates and match blocks, collecting every problem
 * (file + line) instead of stopping at the first.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { TYPE_FIELDS, checkKind, isResourceType, isValidUserName, RESOURCE_TYPES } from '../../wire/bundle-schema.js';
import { compileGlob } from './glob.js';
import { parseTemplate } from './template.js';
import type { Configcrate, FieldValue, MatchBlock, StackResource, StacksProblem } from './types.js';
import { AliasError, defineOwn, entries, plain, readYaml, type YamlFile } from './yamlfile.js';

export const ENVOYS_FILE = 'envoys.vgo';
export const CRATES_DIR = 'configcrates';
export const USERCRATES_DIR = 'usercrates';
/** A usercrate's resources carry this as their `configcrate`: it cannot clash with a configcrate name (no `/` there). */
export const usercrateLabel = (user: string): string => `${USERCRATES_DIR}/${user}`;
/** How the one match-block form is written, for refusals of any other. */
const ENVOYS_FORM = 'envoys:\n  - match: "web-*"\n    configcrates: [app]\n    usercrates: [dan]';
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
  /** usercrates/<user>.vgo by user */
  usercrates: Map<string, Configcrate>;
  brokenUsercrates: Set<string>;
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

/** Fields of a user resource an operator grants per user: they belong in that user's usercrate. */
const USERCRATE_ONLY = new Set(['puddle', 'gitback']);

/** "resources[2]", or `resources[2] "banner"` when the resource has a literal name. */
export function resourceLabel(index: number, name: unknown): string {
  return typeof name === 'string' && name !== '' ? `resources[${index}] "${name}"` : `resources[${index}]`;
}

function parseResource(y: YamlFile, node: Node | null, index: number, problems: StacksProblem[], inUsercrate: boolean): StackResource | null {
  const rline = y.line(node);
  if (!isMap(node)) {
    problems.push({ file: y.file, line: rline, message: `resources[${index}]: must be a map with a type` });
    return null;
  }
  const pairs = entries(y, node);
  const namePair = pairs.find(([k]) => k === 'name');
  const at = resourceLabel(index, namePair !== undefined && isScalar(namePair[1]) ? namePair[1].value : undefined);
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
    if (type === 'user' && USERCRATE_ONLY.has(k) && !inUsercrate) {
      const user = namePair !== undefined && isScalar(namePair[1]) ? String(namePair[1].value) : '<user>';
      say(`is granted in the user's usercrate, not in a configcrate: move this user resource to ${USERCRATES_DIR}/${user}.vgo and list ${user} under the match block's usercrates:`);
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
  const inUsercrate = y.file.startsWith(`${USERCRATES_DIR}/`);
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
        const r = parseResource(y, item as Node, i, problems, inUsercrate);
        if (r !== null) crate.resources.push(r);
      });
    } else say(`${k}: unknown key (known: name, description, vars, resources)`);
  }
  if (!sawName) problems.push({ file: y.file, line: 1, message: `name: is required (must be "${expectName}")` });
  return crate;
}

/** A list of crate names (configcrates or usercrates) of one match block, each with its line. */
function parseNameList(
  y: YamlFile,
  v: Node | null,
  kline: number,
  say: (m: string, l?: number) => void,
  what: 'configcrate' | 'usercrate',
): { names: string[]; lines: number[] } {
  const out = { names: [] as string[], lines: [] as number[] };
  if (!isSeq(v)) {
    say(what === 'configcrate' ? 'must be a list of configcrate names' : 'must be a list of user names (each has usercrates/<user>.vgo)');
    return out;
  }
  const seen = new Set<string>();
  v.items.forEach((c, j) => {
    const n = isScalar(c) ? c.value : undefined;
    const cl = y.line(c as Node, kline);
    const valid = typeof n === 'string' && (what === 'configcrate' ? NAME_RE.test(n) : isValidUserName(n));
    if (!valid) say(`[${j}] must be a ${what === 'configcrate' ? 'configcrate name' : 'Unix user name (its usercrate is usercrates/<user>.vgo)'}`, cl);
    else if (seen.has(n)) say(`[${j}] "${n}" is listed twice`, cl);
    else {
      seen.add(n);
      out.names.push(n);
      out.lines.push(cl);
    }
  });
  return out;
}

function parseEnvoys(y: YamlFile, problems: StacksProblem[]): MatchBlock[] {
  const root = y.contents;
  if (root === null) return []; // an empty envoys.vgo: no envoy gets a bundle yet
  if (isSeq(root)) {
    problems.push({ file: y.file, line: y.line(root), message: `a bare list of match blocks is not the envoys.vgo form: put the list under an envoys: key (${ENVOYS_FORM.replace(/\n/g, '⏎')})` });
    return [];
  }
  if (!isMap(root)) {
    problems.push({ file: y.file, line: y.line(root), message: `must be a map with an envoys: list of match blocks (${ENVOYS_FORM.replace(/\n/g, '⏎')})` });
    return [];
  }
  let list: Node | null = null;
  let listLine = 1;
  for (const [k, v, kline] of entries(y, root)) {
    if (k === 'envoys') {
      list = v;
      listLine = kline;
    } else problems.push({ file: y.file, line: kline, message: `${k}: unknown key (known: envoys)` });
  }
  if (list === null || (isScalar(list) && list.value === null)) return []; // `envoys:` with nothing yet
  if (!isSeq(list)) {
    problems.push({ file: y.file, line: y.line(list, listLine), message: 'envoys: must be a list of match blocks (- match: "web-*" …)' });
    return [];
  }
  const blocks: MatchBlock[] = [];
  list.items.forEach((item, i) => {
    const node = item as Node;
    const at = `envoys[${i}]`;
    const line = y.line(node);
    if (!isMap(node)) {
      problems.push({ file: y.file, line, message: `${at}: must be a map with match and configcrates` });
      return;
    }
    const block: MatchBlock = { index: i, match: '', configcrates: [], configcrateLines: [], usercrates: [], usercrateLines: [], vars: {}, file: y.file, line };
    let ok = true;
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
        const l = parseNameList(y, v, kline, say, 'configcrate');
        block.configcrates = l.names;
        block.configcrateLines = l.lines;
      } else if (k === 'usercrates') {
        const l = parseNameList(y, v, kline, say, 'usercrate');
        block.usercrates = l.names;
        block.usercrateLines = l.lines;
      } else if (k === 'vars') {
        block.vars = parseVars(y, v, `${at}.vars`, problems);
      } else say('unknown key (known: match, configcrates, usercrates, vars)');
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

/** A usercrate holds its user's own `type: user` resource (and may hold more of that user's things), no other user's. */
function checkUsercrate(crate: Configcrate, user: string, problems: StacksProblem[], clean: boolean): void {
  const users = crate.resources.filter((r) => r.type === 'user');
  for (const r of users) {
    const n = r.fields['name'];
    if (n !== undefined && n.value !== user) {
      problems.push({ file: crate.file, line: n.line, message: `${resourceLabel(r.index, n.value)}.name: a usercrate holds its own user's resource: must be "${user}", the file's name without .vgo (another user has usercrates/<that user>.vgo)` });
    }
  }
  if (users.length === 0 && clean) {
    problems.push({ file: crate.file, line: 1, message: `holds no user resource: a usercrate holds its user's, e.g. resources:⏎  - type: user⏎    name: ${user}⏎    puddle: true⏎    gitback: true` });
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Read every `<sub>/<name>.vgo` into `into` (by name); names that do not parse go to `broken`. */
function readCrates(dir: string, sub: string, tree: ParsedTree, into: Map<string, Configcrate>, broken: Set<string>, problems: StacksProblem[]): void {
  const subDir = join(dir, sub);
  const isLink = isSymlink(subDir);
  if (isLink) problems.push({ file: sub, line: null, message: SYMLINK_REFUSED });
  const names = !isLink && existsSync(subDir) && statSync(subDir).isDirectory() ? readdirSync(subDir).sort() : [];
  const users = sub === USERCRATES_DIR;
  for (const fname of names) {
    if (!fname.endsWith('.vgo') || fname.startsWith('.')) continue; // editor droppings, notes
    const rel = `${sub}/${fname}`;
    const name = fname.slice(0, -'.vgo'.length);
    if (isSymlink(join(subDir, fname))) {
      problems.push({ file: rel, line: null, message: SYMLINK_REFUSED });
      broken.add(name);
      continue;
    }
    tree.files.push(rel);
    if (users ? !isValidUserName(name) : !NAME_RE.test(name)) {
      const why = users ? 'a Unix user name (a letter or _, then letters, digits, _ . -; at most 32): a usercrate is named after its user' : 'a valid configcrate name (letters, digits, . _ -; at most 64)';
      problems.push({ file: rel, line: null, message: `"${name}" is not ${why}` });
      broken.add(name);
      continue;
    }
    const before = problems.length;
    const y = readYaml(join(subDir, fname), rel, problems);
    const crate = y === null ? null : parseCrate(y, name, problems);
    if (crate !== null && users) checkUsercrate(crate, name, problems, problems.length === before);
    if (crate === null) broken.add(name);
    else into.set(name, crate);
  }
}

export function parseTree(dir: string, problems: StacksProblem[]): ParsedTree {
  const tree: ParsedTree = { crates: new Map(), broken: new Set(), usercrates: new Map(), brokenUsercrates: new Set(), envoys: [], files: [] };
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    problems.push({ file: dir, line: null, message: 'stacks directory not found' });
    return tree;
  }
  readCrates(dir, CRATES_DIR, tree, tree.crates, tree.broken, problems);
  readCrates(dir, USERCRATES_DIR, tree, tree.usercrates, tree.brokenUsercrates, problems);
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
