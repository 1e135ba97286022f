// Declared module surfaces (docs/architecture.md): the lint rule vigo/subsystem-surface refuses
// an import of another subsystem's internals and names the file to use instead; the rewrite
// script moves such imports onto the surface, twice changing nothing the second time, and its
// --check refuses an import cycle. Each is run for real: eslint's API with the rule, the
// script as a process on a small tree of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';
import { checkoutRoot } from '../helpers/program.js';

const rulePath = join(checkoutRoot, 'eslint-rules', 'subsystem-surface.js');
const { default: rule } = (await import(rulePath)) as { default: unknown };

async function lint(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({
    cwd: checkoutRoot,
    overrideConfigFile: true,
    overrideConfig: {
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser as never },
      plugins: { vigo: { rules: { 'subsystem-surface': rule as never } } },
      rules: { 'vigo/subsystem-surface': 'error' },
    },
  });
  const [r] = await eslint.lintText(code, { filePath: join(checkoutRoot, file) });
  return (r?.messages ?? []).map((m) => m.message);
}

test('an import of another subsystem internal file is refused, naming the surface to import instead', async () => {
  const [msg, ...more] = await lint('src/gitback/x.ts', "import { readPubFile } from '../puddle/store.js';\n");
  assert.equal(more.length, 0);
  assert.match(msg ?? '', /src\/puddle\/store\.ts is internal to src\/puddle\/: import src\/puddle\/index\.ts instead/);
  // the CLI and e2e tests are outside too; a dynamic import is an import
  assert.equal((await lint('src/cli/vigo/x.ts', "export const m = () => import('../../gitback/reactor.js');\n")).length, 1);
  assert.equal((await lint('test/e2e/x.test.ts', "import { x } from '../../src/server/db.js';\n")).length, 1);
  // a folder that lands later (src/swarm) is a subsystem without any edit to the rule
  assert.match((await lint('src/gitback/x.ts', "import { y } from '../swarm/gossip.js';\n"))[0] ?? '', /src\/swarm\/index\.ts/);
});

test('surfaces, shared libraries, own internals and unit tests of the same subsystem pass', async () => {
  const ok = [
    ['src/gitback/x.ts', "import { puddleDir } from '../puddle/index.js';\nimport { LineFramer } from '../wire/lines.js';\nimport { paths } from '../platform/paths.js';\n"],
    ['src/puddle/x.ts', "import { readPubFile } from './store.js';\n"],
    ['test/puddle/x.test.ts', "import { wrapSeed } from '../../src/puddle/wrap.js';\n"],
    ['bench/puddle-unlock.bench.ts', "import { wrapSeed } from '../src/puddle/wrap.js';\n"],
    ['src/cli/git-remote-gitback/x.ts', "import { runRemoteHelper } from '../../gitback/index-remote.js';\n"],
  ];
  for (const [file, code] of ok) assert.deepEqual(await lint(file as string, code as string), [], file);
});

test('the entry layer, agent-server imports and moved files are refused too', async () => {
  assert.match((await lint('src/server/rest/x.ts', "import { VERSION } from '../../cli/version.js';\n"))[0] ?? '', /moved to src\/wire\/version\.ts/);
  assert.match((await lint('src/server/rest/x.ts', "import { main } from '../../cli/vigo/main.js';\n"))[0] ?? '', /may not import the entry layer/);
  assert.match((await lint('src/agent/x.ts', "import { startServer } from '../server/index.js';\n"))[0] ?? '', /src\/agent\/ may not import src\/server\/.*src\/wire/);
});

/** A throwaway tree with the script in it (it finds the tree from its own location). */
function tree(files: Record<string, string>): { root: string; run: (...args: string[]) => { status: number | null; out: string } } {
  const root = mkdtempSync(join(tmpdir(), 'vigo-surfaces-'));
  mkdirSync(join(root, 'scripts'));
  cpSync(join(checkoutRoot, 'scripts', 'surface-imports.mjs'), join(root, 'scripts', 'surface-imports.mjs'));
  symlinkSync(join(checkoutRoot, 'node_modules'), join(root, 'node_modules'));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, p)), { recursive: true });
    writeFileSync(join(root, p), text);
  }
  return {
    root,
    run: (...args) => {
      const r = spawnSync(process.execPath, [join(root, 'scripts', 'surface-imports.mjs'), ...args], { encoding: 'utf8', timeout: 120_000 });
      return { status: r.status, out: r.stdout + r.stderr };
    },
  };
}

test('the rewrite moves imports onto the surface, is idempotent, and reports a name the surface lacks', (t) => {
  const { root, run } = tree({
    'src/puddle/index.ts': "export { readPubFile } from './store.js';\n",
    'src/puddle/store.ts': 'export const readPubFile = 1;\nexport const secretThing = 2;\n',
    'src/gitback/a.ts': "import { readPubFile } from '../puddle/store.js';\nimport { puddleDir } from '../puddle/index.js';\nexport const a = [readPubFile, puddleDir];\n",
    'src/gitback/b.ts': "import { secretThing } from '../puddle/store.js';\nexport const b = secretThing;\n",
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const before = run('--check');
  assert.equal(before.status, 1, before.out);
  assert.match(before.out, /would rewrite src\/gitback\/a\.ts/);
  assert.match(before.out, /src\/puddle\/index\.ts does not export secretThing; add: export \{ secretThing \} from '\.\/store\.js';/);

  run();
  assert.equal(readFileSync(join(root, 'src/gitback/a.ts'), 'utf8'), "import { readPubFile, puddleDir } from '../puddle/index.js';\nexport const a = [readPubFile, puddleDir];\n");
  const a = readFileSync(join(root, 'src/gitback/a.ts'), 'utf8');
  const again = run();
  assert.equal(readFileSync(join(root, 'src/gitback/a.ts'), 'utf8'), a, 'a second run changes nothing');
  assert.doesNotMatch(again.out, /rewrote/);
});

test('--check refuses an import cycle and names its files; a type-only import back is not one', (t) => {
  const { root, run } = tree({
    'src/gitback/bind-client.ts': "import { daemonRequest } from './remote-helper.js';\nexport const bind = daemonRequest;\n",
    'src/gitback/remote-helper.ts': "export const daemonRequest = 1;\nexport const later = () => import('./bind-client.js');\n",
    'src/puddle/index.ts': "export { puddleStatus } from './status.js';\nexport type Dir = string;\n",
    'src/puddle/status.ts': "import type { Dir } from './index.js';\nexport const puddleStatus = (d: Dir) => d;\n",
  });
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const r = run('--check');
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /cycle: src\/gitback\/(bind-client|remote-helper)\.ts -> src\/gitback\/(remote-helper|bind-client)\.ts -> /);
  assert.doesNotMatch(r.out, /puddle/);
});
