// Runs every compiled test file with node's test runner (Node 20 has no glob support
// on the command line). Unit tests run in parallel; e2e tests (real processes, real
// users, fixed ports) run one file at a time after them.
//
// First the built program is installed once into a fresh world-readable directory under
// /tmp (scripts/install-program.mjs) and named in VIGO_TEST_PROGRAM_ROOT: tests run it
// from there (test/helpers/program.ts), so commands run as other Unix users work wherever
// the checkout lives, even under a 0700 directory. It is removed at the end.
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { installProgram } from './install-program.mjs';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

const filter = process.argv[2];
const all = walk('dist/test').filter((f) => !filter || f.includes(filter));
if (all.length === 0) {
  console.error('run-tests: no test files found under dist/test (did the build run?)');
  process.exit(1);
}
const t0 = Date.now();
const programRoot = mkdtempSync(join(process.platform === 'linux' ? '/tmp' : (process.env.TMPDIR ?? '/tmp'), 'vigo-test-program-'));
const removeProgram = () => rmSync(programRoot, { recursive: true, force: true });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => (removeProgram(), process.exit(130)));
try {
  chmodSync(programRoot, 0o755);
  installProgram(join(programRoot, 'vigo'));
} catch (e) {
  removeProgram();
  console.error(`run-tests: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
const env = { ...process.env, VIGO_TEST_PROGRAM_ROOT: join(programRoot, 'vigo') };
console.log(`run-tests: installed the program into ${env.VIGO_TEST_PROGRAM_ROOT} in ${Date.now() - t0} ms (removed at the end)`);
const unit = all.filter((f) => !f.includes('/e2e/'));
const e2e = all.filter((f) => f.includes('/e2e/'));
let status = 0;
for (const [files, conc] of [[unit, 2], [e2e, 1]]) {
  if (files.length === 0) continue;
  const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${conc}`, ...files], { stdio: 'inherit', env });
  if (r.status !== 0) status = r.status ?? 1;
}
removeProgram();
process.exit(status);
