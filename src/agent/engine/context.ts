import { lstatSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Accounts } from './accounts.js';
import type { Sandbox } from './sandbox.js';

/** What every resource executor gets. */
export interface ApplyContext {
  sandbox: Sandbox;
  accounts: Accounts;
  dryRun: boolean;
  usercratePolicyDir: string;
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
export function nodeKind(st: import('node:fs').Stats): string {
  if (st.isFile()) return 'regular file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  return 'special file';
}

export function lstatOrNull(p: string): import('node:fs').Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Create the missing parents of `host` (0755); returns a change line when it did. */
export function ensureParent(host: string, dryRun: boolean): string[] {
  const parent = dirname(host);
  if (lstatOrNull(parent) !== null) return [];
  if (!dryRun) mkdirSync(parent, { recursive: true, mode: 0o755 });
  return ['parent directories created'];
}
