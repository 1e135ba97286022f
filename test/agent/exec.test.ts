import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { converge } from '../../src/agent/engine/index.js';
import { bundle, envoyRoot, statusOf } from './helpers.js';

test('exec runs via /bin/sh in the envoy root; creates makes the next run ok', async (t) => {
  const { root, opts } = envoyRoot(t);
  const b = bundle([{ type: 'exec', name: 'init', command: 'echo "$((6*7))" > "$VIGO_FSROOT/ready"', creates: '/ready' }]);
  const r1 = await converge(b, opts);
  assert.deepEqual(statusOf(r1, 'test:exec:init'), { status: 'changed', message: 'ran (exit 0)' });
  assert.equal(readFileSync(join(root, 'ready'), 'utf8'), '42\n');
  const r2 = await converge(b, opts);
  assert.deepEqual(statusOf(r2, 'test:exec:init'), { status: 'ok', message: 'skipped: /ready exists' });
});

test('exec unless guard: exit 0 skips, non-zero runs', async (t) => {
  const { root, opts } = envoyRoot(t);
  const b = bundle([
    { type: 'exec', name: 'skip', command: 'touch skipped', unless: 'true' },
    { type: 'exec', name: 'run', command: 'touch ran', unless: 'test -e ran' },
  ]);
  const r1 = await converge(b, opts);
  assert.equal(statusOf(r1, 'test:exec:skip').status, 'ok');
  assert.equal(statusOf(r1, 'test:exec:run').status, 'changed');
  assert.equal(existsSync(join(root, 'skipped')), false);
  assert.equal(existsSync(join(root, 'ran')), true);
  assert.equal((await converge(b, opts)).status, 'ok');
});

test('a failing exec reports its exit code and stderr tail; the others still run, dependants are skipped', async (t) => {
  const { root, opts } = envoyRoot(t);
  const b = bundle([
    { type: 'exec', name: 'boom', command: 'echo starting >&2; echo "disk full" >&2; exit 3' },
    { type: 'file', path: '/after-boom', content: 'x', require: ['test:exec:boom'] },
    { type: 'file', path: '/independent', content: 'y' },
  ]);
  const r = await converge(b, opts);
  assert.equal(r.status, 'failed');
  assert.deepEqual(r.counts, { ok: 0, changed: 1, failed: 2 });
  assert.deepEqual(statusOf(r, 'test:exec:boom'), { status: 'failed', message: 'command exited 3: starting | disk full' });
  assert.deepEqual(statusOf(r, 'test:file:/after-boom'), { status: 'failed', message: 'skipped: required resource test:exec:boom failed' });
  assert.equal(existsSync(join(root, 'after-boom')), false);
  assert.equal(readFileSync(join(root, 'independent'), 'utf8'), 'y');
});

test('require runs a resource after what it requires, whatever the bundle order', async (t) => {
  const { root, opts } = envoyRoot(t);
  const b = bundle([
    { type: 'exec', name: 'use-dir', command: 'test -d opt/app && touch opt/app/used', require: ['test:directory:/opt/app'] },
    { type: 'directory', path: '/opt/app' },
  ]);
  const r = await converge(b, opts);
  assert.equal(r.status, 'changed');
  assert.deepEqual(r.resources.map((x) => x.id), ['test:directory:/opt/app', 'test:exec:use-dir']);
  assert.equal(existsSync(join(root, 'opt/app/used')), true);
});

test('an exec that outlives its timeout is killed with its children and fails', async (t) => {
  const { opts } = envoyRoot(t);
  const started = Date.now();
  const r = await converge(bundle([{ type: 'exec', name: 'slow', command: 'sleep 30 & sleep 30; wait', timeout_s: 0.3 }]), opts);
  assert.deepEqual(statusOf(r, 'test:exec:slow'), { status: 'failed', message: 'command timed out after 0.3s and was killed' });
  assert.ok(Date.now() - started < 20_000, 'the run does not wait for the killed command');
});

test('commands get a small environment: PATH and VIGO_FSROOT, not the agent\'s secrets', async (t) => {
  const { root, opts } = envoyRoot(t);
  process.env['VIGO_PUDDLE_PASSPHRASE'] = 'hunter2';
  t.after(() => delete process.env['VIGO_PUDDLE_PASSPHRASE']);
  await converge(bundle([{ type: 'exec', name: 'env', command: 'env > "$VIGO_FSROOT/env.txt"' }]), opts);
  const env = readFileSync(join(root, 'env.txt'), 'utf8');
  assert.match(env, /^PATH=/m);
  assert.match(env, new RegExp(`^VIGO_FSROOT=${root}$`, 'm'));
  assert.doesNotMatch(env, /hunter2/);
});

test('a command that reports on stdout has that in its failure; a creates that never appears is called out', async (t) => {
  const { opts } = envoyRoot(t);
  const r = await converge(
    bundle([
      { type: 'exec', name: 'stdout-err', command: 'echo "E: unable to locate package nginx"; exit 100' },
      { type: 'exec', name: 'forgetful', command: 'true', creates: '/never' },
    ]),
    opts,
  );
  assert.equal(statusOf(r, 'test:exec:stdout-err').message, 'command exited 100: E: unable to locate package nginx');
  assert.deepEqual(statusOf(r, 'test:exec:forgetful'), { status: 'changed', message: 'ran (exit 0), but /never still does not exist, so it will run again' });
});
