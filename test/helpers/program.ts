/**
 * Where tests find the built program (bin/, dist/, build/, node_modules) to run it.
 *
 * Commands run as other Unix users must not depend on where the checkout lives: a CI
 * clone may sit under a directory only root can enter (`mktemp -d` makes it 0700), and
 * then another user cannot even open bin/vigo.js. So scripts/run-tests.mjs installs the
 * built program once per run into a fresh world-readable directory, as an operator
 * would (scripts/install-copy.mjs), and names it in VIGO_TEST_PROGRAM_ROOT. Run directly
 * (`node --test dist/test/…`), tests fall back to the checkout, which then must be
 * readable by the test users.
 *
 * Everything a test runs (as root or as another user) goes through here; read the
 * checkout's own files (docs, examples, test data) through `checkoutRoot`.
 */
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** the checkout (this file is dist/test/helpers/program.js) */
export const checkoutRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const installed = process.env.VIGO_TEST_PROGRAM_ROOT;
/** the installed program's root, or the checkout when no install was made */
export const programRoot: string = installed !== undefined && installed !== '' ? installed : checkoutRoot;

/** an entry point under the program's bin/ (`vigo.js`, `vigocli.js`, `vigosrv.js`, `git-remote-gitback`) */
export const programBin = (name: string): string => join(programRoot, 'bin', name);

/** the program's bin/ directory, for PATH (git finds git-remote-gitback there) */
export const programBinDir: string = join(programRoot, 'bin');

/** the compiled program (for scripts that import its modules as another user) */
export const programDist: string = join(programRoot, 'dist');

export const vigoBin: string = programBin('vigo.js');

/** PATH with the program's bin/ first */
export function pathWithProgram(path: string | undefined = process.env.PATH): string {
  return `${programBinDir}:${path ?? '/usr/bin:/bin'}`;
}

/**
 * A compiled test program (a file under dist/test/ that imports only dist/src/) that another
 * Unix user must run: copied into the installed program as `dist/test/<same path>`, so its
 * `../../src/…` imports resolve to the installed dist/src and every directory on the way is
 * world-traversable. Run directly (no install), the checkout's own file is returned.
 */
export function userRunnable(compiledFile: string): string {
  if (programRoot === checkoutRoot) return compiledFile;
  const rel = relative(join(checkoutRoot, 'dist', 'test'), compiledFile);
  if (rel.startsWith('..')) throw new Error(`userRunnable: ${compiledFile} is not under dist/test/`);
  const dest = join(programDist, 'test', rel);
  let dir = programDist;
  for (const part of ['test', ...dirname(rel).split(sep).filter((x) => x !== '.')]) {
    dir = join(dir, part);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
  }
  copyFileSync(compiledFile, dest);
  chmodSync(dest, 0o644);
  return dest;
}
