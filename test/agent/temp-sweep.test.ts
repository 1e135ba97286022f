// An agent killed with SIGKILL in the middle of writing a managed file leaves its temp file
// (`.NAME.vigo-PID-hex`) beside it. The next run removes it — only that exact pattern, only
// when PID is no live agent — and says so in the report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, watch, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { converge } from '../../src/agent/engine/index.js';
import { bundle, envoyRoot, statusOf } from './helpers.js';

const ENGINE = resolve(fileURLToPath(import.meta.url), '../../../src/agent/engine/index.js');
const TEMP_RE = /^\.big\.bin\.vigo-([0-9]+)-[0-9a-f]{8}$/;

/** A converge in its own process, SIGKILLed as soon as its temp file appears. Resolves the temp's name, or null if it finished first. */
async function killMidWrite(opts: object, b: object, dir: string, scratch: string): Promise<string | null> {
  const input = join(scratch, 'run.json');
  writeFileSync(input, JSON.stringify({ b, opts }));
  const code = `import(${JSON.stringify(ENGINE)}).then(async (m) => { const { b, opts } = JSON.parse(require('fs').readFileSync(${JSON.stringify(input)}, 'utf8')); await m.converge(b, opts); });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  let seen: string | null = null;
  const w = watch(dir, (_ev, name) => {
    if (seen === null && typeof name === 'string' && TEMP_RE.test(name)) {
      seen = name;
      child.kill('SIGKILL');
    }
  });
  await exited;
  w.close();
  return seen !== null && existsSync(join(dir, seen)) ? seen : null;
}

test('the temp file of a run killed mid-write is swept on the next run, and nothing else is', async (t) => {
  const { root, opts } = envoyRoot(t);
  const dir = join(root, 'opt/app');
  mkdirSync(dir, { recursive: true });
  const scratch = join(root, 'scratch');
  mkdirSync(scratch);
  let size = 8 << 20;
  let left: string | null = null;
  // the write (and its fsync) of a large file is the window; grow it if the run won the race
  for (let attempt = 0; attempt < 6 && left === null; attempt++, size *= 2) {
    const b = bundle([{ type: 'file', path: '/opt/app/big.bin', content: 'x'.repeat(size) }]);
    left = await killMidWrite(opts, b, dir, scratch);
  }
  assert.ok(left !== null, 'the killed run left no temp file to sweep (it finished every time)');
  const deadPid = Number(TEMP_RE.exec(left)![1]);
  t.diagnostic(`killed run left ${left} (${size / 2 / (1 << 20)} MiB file)`);

  // things of a similar look that the sweep must leave alone
  const mine = `.other.vigo-${process.pid}-0123abcd`; // this live agent's own
  const near = [`.big.bin.vigo-${deadPid}-xyz`, `big.bin.vigo-${deadPid}-0123abcd`, `.big.bin.tmp-${deadPid}-0123abcd`, `.vigo-${deadPid}-0123abcd`];
  for (const n of [mine, ...near]) writeFileSync(join(dir, n), 'keep');
  mkdirSync(join(dir, `.adir.vigo-${deadPid}-0123abcd`));
  // a dead run's symlink temp, and one whose PID now belongs to an unrelated live process
  symlinkSync('nowhere', join(dir, `.link.vigo-${deadPid}-4567cdef`));
  const sleeper = spawn('/bin/sleep', ['60'], { stdio: 'ignore' });
  t.after(() => sleeper.kill('SIGKILL'));
  const reused = `.conf.vigo-${sleeper.pid}-89abcdef`;
  writeFileSync(join(dir, reused), 'stale');

  const r = await converge(bundle([{ type: 'file', path: '/opt/app/small.conf', content: 'ok\n' }]), opts);
  const rep = statusOf(r, 'test:file:/opt/app/small.conf');
  assert.equal(rep.status, 'changed');
  assert.match(rep.message, /^3 stale temp files of a killed run removed \(/);
  for (const gone of [left, `.link.vigo-${deadPid}-4567cdef`, reused]) {
    assert.ok(rep.message.includes(gone), `${gone} named in ${rep.message}`);
    assert.equal(existsSync(join(dir, gone)), false, `${gone} removed`);
  }
  for (const kept of [mine, ...near, `.adir.vigo-${deadPid}-0123abcd`]) assert.equal(existsSync(join(dir, kept)), true, `${kept} kept`);
  assert.equal(readFileSync(join(dir, 'small.conf'), 'utf8'), 'ok\n');
  assert.equal(readdirSync(dir).filter((n) => TEMP_RE.test(n)).length, 0);

  // the next run has nothing to sweep: up to date
  const again = await converge(bundle([{ type: 'file', path: '/opt/app/small.conf', content: 'ok\n' }]), opts);
  assert.deepEqual(statusOf(again, 'test:file:/opt/app/small.conf'), { status: 'ok', message: 'up to date' });
});

test('a dry run reports nothing swept and removes nothing', async (t) => {
  const { root, opts } = envoyRoot(t);
  mkdirSync(join(root, 'etc'));
  // a PID far above pid_max cannot be alive
  const stale = '.motd.vigo-999999999-0123abcd';
  writeFileSync(join(root, 'etc', stale), 'half');
  const r = await converge(bundle([{ type: 'file', path: '/etc/motd', content: 'hi\n' }]), { ...opts, dryRun: true });
  assert.equal(r.resources[0]!.message, '(dry run) created');
  assert.equal(existsSync(join(root, 'etc', stale)), true);
  const real = await converge(bundle([{ type: 'file', path: '/etc/motd', content: 'hi\n' }]), opts);
  assert.equal(real.resources[0]!.message, `1 stale temp file of a killed run removed (${stale}), created`);
  assert.equal(existsSync(join(root, 'etc', stale)), false);
});
