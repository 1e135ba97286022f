/**
 * Publishing and booting `.live/` (docs/server.md, "Stacks and publish"). A publish copies
 * the stacks, validates the copy — the very bytes that will go live — and swaps only a copy
 * that validated. At boot a `.live` that no longer loads never keeps the server down: it
 * falls back to the previous version, or starts with nothing loaded and the error shown in
 * `vigocli server status`.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { VigoError, isVigoError } from '../../platform/errors.js';
import { loadStacks, type Stacks, type StacksProblem } from './stacks-port.js';
import { checkStacksOffThread, stageAndCheckOffThread } from './check-thread.js';
import { currentLiveTarget, discardStaged, earlierGenerations, installStaged, listStacksTree, newStaging, revertLive } from './live.js';

/** E_STACKS_INVALID with the problems attached (absolute file paths an operator can open). */
export class StacksInvalidError extends VigoError {
  constructor(readonly problems: StacksProblem[]) {
    super('E_STACKS_INVALID', `stacks are invalid; nothing was published:\n${problems.map((p) => `  ${p.file}:${p.line ?? '?'}: ${p.message}`).join('\n')}`, {
      hint: 'fix the files named above, then run `vigocli config validate` again',
    });
  }
}

function merged(stacksDir: string, ...lists: StacksProblem[][]): StacksProblem[] {
  const seen = new Set<string>();
  const out: StacksProblem[] = [];
  for (const p of lists.flat()) {
    const k = `${p.file}\0${p.line ?? ''}\0${p.message}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ ...p, file: isAbsolute(p.file) ? p.file : join(stacksDir, p.file) });
  }
  return out;
}

const missing = (stacksDir: string): StacksProblem[] => [{ file: stacksDir, line: null, message: 'stacks directory does not exist' }];

/** Every problem a publish of `stacksDir` would meet (the tree's symlinks and special files, then the stacks). */
export async function validateStacksDir(stacksDir: string): Promise<StacksProblem[]> {
  if (!existsSync(stacksDir)) return missing(stacksDir);
  const tree = listStacksTree(stacksDir);
  return merged(stacksDir, tree.problems, (await checkStacksOffThread(stacksDir, false)).problems);
}

/** Copy, validate the copy, swap `.live` to it. Throws StacksInvalidError having changed nothing. */
/**
 * `preflight` sees the validated copy before it is installed and throws to refuse it (the
 * server checks that every envoy's bundle fits in a check-in message).
 */
export async function publishLive(stacksDir: string, dataDir: string, preflight?: (stacks: Stacks) => void): Promise<{ stacks: Stacks; files: number; target: string }> {
  if (!existsSync(stacksDir)) throw new StacksInvalidError(missing(stacksDir));
  const staging = newStaging(dataDir);
  let staged, checked;
  try {
    ({ staged, checked } = await stageAndCheckOffThread(stacksDir, dataDir, staging));
  } catch (e) {
    await discardStaged(staging);
    throw e;
  }
  const problems = merged(stacksDir, staged.problems, checked.problems);
  if (problems.length > 0 || checked.stacks === null) {
    await discardStaged(staged);
    throw new StacksInvalidError(problems);
  }
  try {
    preflight?.(checked.stacks);
  } catch (e) {
    await discardStaged(staged);
    throw e;
  }
  return { stacks: checked.stacks, files: staged.files, target: installStaged(staged, dataDir) };
}

const why = (e: unknown): string => (isVigoError(e) || e instanceof Error ? e.message : String(e));

/**
 * The stacks to serve at boot. `error` says what an operator must know (shown by
 * `server status`): `.live` did not load and an earlier version now serves, or nothing does.
 */
export function bootLive(dataDir: string): { stacks: Stacks | null; error: string | null } {
  const live = join(dataDir, '.live');
  if (currentLiveTarget(dataDir) === null && !existsSync(live)) return { stacks: null, error: null };
  let first: string;
  try {
    return { stacks: loadStacks(live), error: null };
  } catch (e) {
    first = why(e);
  }
  const bad = currentLiveTarget(dataDir) ?? live;
  for (const gen of earlierGenerations(dataDir)) {
    let stacks: Stacks;
    try {
      stacks = loadStacks(join(dataDir, '.live.d', gen));
    } catch {
      continue;
    }
    const target = revertLive(dataDir, gen);
    return { stacks, error: `.live (${bad}) did not load, so the previous version ${target} serves instead; publish fixed stacks. ${first}` };
  }
  return { stacks: null, error: `.live (${bad}) did not load and no earlier version does: envoys get no policy until you publish fixed stacks. ${first}` };
}
