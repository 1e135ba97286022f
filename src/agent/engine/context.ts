import { closeSync, lstatSync, type Stats } from 'node:fs';
import { fstatFd, type AtStat } from '../../platform/fsat.js';
import type { Accounts } from './accounts.js';
import type { Parent, Sandbox } from './sandbox.js';
import { sweepStaleTemps } from './write.js';

/** What every resource executor gets. */
export interface ApplyContext {
  sandbox: Sandbox;
  accounts: Accounts;
  dryRun: boolean;
  usercratePolicyDir: string;
  /** the agent's own environment (see ConvergeOptions.hostEnv) */
  hostEnv: Readonly<Record<string, string | undefined>>;
  /** directories (dev:ino) already swept of stale temp files in this run */
  swept: Set<string>;
}

/** A resource that did not fail: nothing to do (ok) or something done (changed). */
export interface Outcome {
  status: 'ok' | 'changed';
  message: string;
}

export function outcome(changes: string[], dryRun: boolean, okMessage: string): Outcome {
  if (changes.length === 0) return { status: 'ok', message: okMessage };
  return { status: 'changed', message: dryRun ? `(dry run) ${changes.join(', ')}` : changes.join(', ') };
}

/** What kind of node a stat describes, for messages. */
export function nodeKind(st: AtStat): string {
  switch (st.kind) {
    case 'file':
      return 'regular file';
    case 'dir':
      return 'directory';
    case 'symlink':
      return 'symlink';
    default:
      return 'special file';
  }
}

/** lstat by path, null when absent: only for looking (exec `creates`), never before a change. */
export function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/**
 * Once per directory and run (not in a dry run): remove the temp files a killed agent
 * left there. Returns a change line when it removed any.
 */
export function sweepOnce(ctx: ApplyContext, dirfd: number): string[] {
  if (ctx.dryRun) return [];
  const st = fstatFd(dirfd);
  const key = `${st.dev}:${st.ino}`;
  if (ctx.swept.has(key)) return [];
  ctx.swept.add(key);
  const gone = sweepStaleTemps(dirfd);
  if (gone.length === 0) return [];
  return [`${gone.length} stale temp ${gone.length === 1 ? 'file' : 'files'} of a killed run removed (${gone.join(', ')})`];
}

/**
 * fn with the opened parent of `path` (null when a parent directory is missing); `create()`
 * opens it again, making the missing parents. Every parent opened is closed afterwards.
 */
export function withParent<T>(
  ctx: ApplyContext,
  path: string,
  opts: { destructive: boolean; followSymlinks: boolean | undefined },
  fn: (parent: Parent | null, create: () => Parent) => T,
): T {
  const held: number[] = [];
  const open = (create: boolean): Parent | null => {
    const p = ctx.sandbox.openParent(path, { ...opts, create });
    if (p !== null) held.push(p.dirfd);
    return p;
  };
  try {
    return fn(open(false), () => open(true) as Parent);
  } finally {
    for (const fd of held) closeSync(fd);
  }
}
