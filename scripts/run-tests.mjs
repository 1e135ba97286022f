// Runs every compiled test file with node's test runner (Node 20 has no glob support
// on the command line). Unit tests run in parallel; e2e tests (real processes, real
// users, fixed ports) run one file at a time after them.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

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
const unit = all.filter((f) => !f.includes('/e2e/'));
const e2e = all.filter((f) => f.includes('/e2e/'));
let status = 0;
for (const [files, conc] of [[unit, 2], [e2e, 1]]) {
  if (files.length === 0) continue;
  const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${conc}`, ...files], { stdio: 'inherit' });
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
