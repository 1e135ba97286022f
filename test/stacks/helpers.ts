import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

/** examples/stacks in the repository (tests run from dist/test/stacks). */
export const EXAMPLE_STACKS = join(dirname(fileURLToPath(import.meta.url)), '../../../examples/stacks');

/** A stacks tree in a temp dir from { relative path: content }, removed after the test. */
export function stacksTree(t: TestContext, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'vgt-stacks-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}
