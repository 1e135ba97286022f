import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadStacks, resolveBundle, validateStacks } from '../../src/server/index.js';
import { converge } from '../../src/agent/index.js';
import { envoyRoot } from '../agent/helpers.js';
import { EXAMPLE_STACKS } from './helpers.js';

test('the example stacks validate and resolve per hostname, first match wins', () => {
  assert.deepEqual(validateStacks(EXAMPLE_STACKS), []);
  const stacks = loadStacks(EXAMPLE_STACKS);
  assert.match(stacks.fingerprint, /^[0-9a-f]{64}$/);
  const web = resolveBundle(stacks, 'web-01', 3, 1764000000);
  assert.deepEqual(web, {
    version: 3,
    envoy: 'web-01',
    generated_at: 1764000000,
    resources: [
      {
        id: 'motd:file:/etc/motd',
        configcrate: 'motd',
        type: 'file',
        name: 'message-of-the-day',
        path: '/etc/motd',
        content: 'Welcome to web envoy web-01\nManaged by vigo for the vigo fleet; local edits are put back on the next run.\n',
        mode: '0644',
      },
    ],
  });
  const db = resolveBundle(stacks, 'db-01', 3, 1764000000);
  assert.equal(db?.resources[0]?.type === 'file' && db.resources[0].content?.split('\n')[0], 'Welcome to db-01');
  assert.deepEqual(db?.resources.map((r) => r.id), ['motd:file:/etc/motd'], 'no usercrate outside dev-*');
  const dev = resolveBundle(stacks, 'dev-01', 3, 1764000000);
  assert.deepEqual(dev?.resources[1], { id: 'usercrates/dan:user:dan', configcrate: 'usercrates/dan', type: 'user', name: 'dan', puddle: true, gitback: true });
});

test('a resolved example bundle converges on an envoy root', async (t) => {
  const { root, opts } = envoyRoot(t);
  const bundle = resolveBundle(loadStacks(EXAMPLE_STACKS), 'web-02', 1);
  assert.ok(bundle);
  const r = await converge(bundle, opts);
  assert.equal(r.status, 'changed');
  assert.match(readFileSync(join(root, 'etc/motd'), 'utf8'), /^Welcome to web envoy web-02\n/);
  assert.equal((await converge(bundle, opts)).status, 'ok');
});

test('loaded stacks expose configcrates by name and match blocks in order, with their lines', () => {
  const stacks = loadStacks(EXAMPLE_STACKS);
  assert.deepEqual([...stacks.configcrates.keys()], ['motd']);
  const motd = stacks.configcrates.get('motd');
  assert.equal(motd?.file, 'configcrates/motd.vgo');
  assert.deepEqual(motd?.vars, { greeting: 'Welcome to', team: 'the vigo fleet' });
  assert.deepEqual(
    stacks.envoys.map((b) => [b.match, b.configcrates, b.vars, `${b.file}:${b.line}`]),
    [
      ['web-*', ['motd'], { greeting: 'Welcome to web envoy' }, 'envoys.vgo:3'],
      ['dev-*', ['motd'], {}, 'envoys.vgo:8'],
      ['*', ['motd'], {}, 'envoys.vgo:11'],
    ],
  );
  assert.deepEqual(stacks.envoys.map((b) => b.usercrates), [[], ['dan'], []]);
  assert.deepEqual([...stacks.usercrates.keys()], ['dan']);
});
