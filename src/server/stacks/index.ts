/**
 * Stacks (CONTRACTS §4): parse, validate and resolve the `.vgo` tree into policy bundles.
 * Pure apart from reading the files; the server does publishing. See docs/stacks.md.
 */
import { VigoError, isVigoError } from '../../platform/errors.js';
import { parseBundle, type PolicyBundle } from '../../wire/bundle.js';
import { expand } from './expand.js';
import { globMatches } from './glob.js';
import { ENVOYS_FILE, USERCRATES_DIR, fingerprint, parseTree, usercrateLabel, type ParsedTree } from './parse.js';
export { SYMLINK_REFUSED } from './parse.js';
import type { Configcrate, MatchBlock, Stacks, StacksProblem } from './types.js';

export type { Configcrate, FieldValue, Hex, MatchBlock, StackResource, Stacks, StacksProblem } from './types.js';
export { compileGlob, globMatches } from './glob.js';

/** Hostname used to check templates statically; real hostnames come at resolve time. */
const PLACEHOLDER_HOST = 'envoy-hostname';

function bundleOf(resources: PolicyBundle['resources'], envoy: string, version: number, now: number): PolicyBundle {
  return { version, envoy, generated_at: now, resources };
}

/** A usercrate as the crate its resources come from: ids and `configcrate` read `usercrates/<user>`. */
function asCrate(usercrate: Configcrate): Configcrate {
  return { ...usercrate, name: usercrateLabel(usercrate.name) };
}

/** The crates of one match block, in order: its configcrates, then its users' usercrates. */
function blockCrates(stacks: Pick<Stacks, 'configcrates' | 'usercrates'>, block: MatchBlock, missing: (kind: 'configcrate' | 'usercrate', name: string, j: number) => void): Configcrate[] {
  const crates: Configcrate[] = [];
  block.configcrates.forEach((name, j) => {
    const c = stacks.configcrates.get(name);
    if (c !== undefined) crates.push(c);
    else missing('configcrate', name, j);
  });
  block.usercrates.forEach((user, j) => {
    const c = stacks.usercrates.get(user);
    if (c !== undefined) crates.push(asCrate(c));
    else missing('usercrate', user, j);
  });
  return crates;
}

function check(dir: string): { tree: ParsedTree; problems: StacksProblem[] } {
  const problems: StacksProblem[] = [];
  const tree = parseTree(dir, problems);
  const used = new Set<string>();
  const usedUsers = new Set<string>();
  tree.envoys.forEach((block) => {
    const i = block.index;
    block.configcrates.forEach((n) => used.add(n));
    block.usercrates.forEach((n) => usedUsers.add(n));
    const crates = blockCrates({ configcrates: tree.crates, usercrates: tree.usercrates }, block, (kind, name, j) => {
      if (kind === 'configcrate' && !tree.broken.has(name)) {
        problems.push({ file: block.file, line: block.configcrateLines[j] ?? block.line, message: `envoys[${i}].configcrates[${j}]: no configcrate "${name}" (expected configcrates/${name}.vgo)` });
      } else if (kind === 'usercrate' && !tree.brokenUsercrates.has(name)) {
        problems.push({ file: block.file, line: block.usercrateLines[j] ?? block.line, message: `envoys[${i}].usercrates[${j}]: no usercrate for "${name}" (expected ${USERCRATES_DIR}/${name}.vgo holding the type: user resource)` });
      }
    });
    const where = `${block.file}:${block.line}`;
    const out = expand(crates, { vars: block.vars, hostname: PLACEHOLDER_HOST, block: where });
    problems.push(...out.problems);
    if (out.problems.length === 0) {
      try {
        parseBundle(bundleOf(out.resources, PLACEHOLDER_HOST, 0, 0));
      } catch (e) {
        problems.push({ file: block.file, line: block.line, message: `envoys[${i}]: ${isVigoError(e) ? e.message : String(e)}` });
      }
    }
  });
  for (const c of tree.crates.values()) {
    if (!used.has(c.name)) problems.push(...expand([c], { vars: {}, hostname: PLACEHOLDER_HOST, block: null, allowUndefined: true }).problems);
  }
  for (const c of tree.usercrates.values()) {
    if (!usedUsers.has(c.name)) problems.push(...expand([asCrate(c)], { vars: {}, hostname: PLACEHOLDER_HOST, block: null, allowUndefined: true }).problems);
  }
  const seen = new Set<string>();
  const unique = problems.filter((p) => {
    const k = `${p.file}\0${p.line}\0${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  unique.sort((a, b) => (a.file === b.file ? (a.line ?? 0) - (b.line ?? 0) : a.file === ENVOYS_FILE ? 1 : b.file === ENVOYS_FILE ? -1 : a.file < b.file ? -1 : 1));
  return { tree, problems: unique };
}

function stacksOf(dir: string, tree: ParsedTree): Stacks {
  return { configcrates: tree.crates, usercrates: tree.usercrates, envoys: tree.envoys, fingerprint: fingerprint(dir, tree.files) };
}

export function formatProblem(p: StacksProblem): string {
  return `${p.file}${p.line === null ? '' : `:${p.line}`}: ${p.message}`;
}

/** Every problem in the stacks tree at `dir`, each with its file (relative) and line. */
export function validateStacks(dir: string): StacksProblem[] {
  return check(dir).problems;
}

/** The stacks at `dir` when they are valid (null otherwise), and every problem: one parse for both. */
export function checkStacks(dir: string): { stacks: Stacks | null; problems: StacksProblem[] } {
  const { tree, problems } = check(dir);
  if (problems.length > 0) return { stacks: null, problems };
  return { stacks: stacksOf(dir, tree), problems };
}

/** The stacks at `dir`, or VigoError E_STACKS_INVALID listing every problem as "file:line: message". */
export function loadStacks(dir: string): Stacks {
  const { tree, problems } = check(dir);
  if (problems.length > 0) {
    throw new VigoError('E_STACKS_INVALID', `stacks in ${dir} are invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => '  ' + formatProblem(p)).join('\n')}`, {
      hint: 'fix the files named above, then run `vigocli config validate` again',
    });
  }
  return stacksOf(dir, tree);
}

/**
 * The bundle for `hostname`: the first match block whose glob matches it, its
 * configcrates in order and then its usercrates, templates rendered. null when no block matches.
 * `now` is unix seconds (the bundle's generated_at).
 */
export function resolveBundle(stacks: Stacks, hostname: string, version: number, now: number = Math.floor(Date.now() / 1000)): PolicyBundle | null {
  const block = stacks.envoys.find((b) => globMatches(b.match, hostname));
  if (block === undefined) return null;
  const fail = (msg: string): never => {
    throw new VigoError('E_STACKS_RESOLVE', `resolving the bundle for ${hostname}: ${msg}`, { hint: 'run `vigocli config validate` and fix the stacks' });
  };
  const crates = blockCrates(stacks, block, (kind, n) => fail(`${block.file}:${block.line}: no ${kind} "${n}"`));
  const out = expand(crates, { vars: block.vars, hostname, block: `${block.file}:${block.line}` });
  if (out.problems.length > 0) fail(out.problems.map(formatProblem).join('; '));
  const bundle = bundleOf(out.resources, hostname, version, Math.floor(now));
  try {
    return parseBundle(bundle);
  } catch (e) {
    return fail(isVigoError(e) ? e.message : String(e));
  }
}
