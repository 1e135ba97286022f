import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConvergeOptions, converge } from '../../src/agent/engine/index.js';
import { bundle, envoyRoot } from './helpers.js';

function agentFiles(root: string): void {
  mkdirSync(join(root, 'etc/vigo-envoy'), { recursive: true });
  writeFileSync(join(root, 'etc/vigo-envoy/agent.yaml'), 'agent: {}\n');
  mkdirSync(join(root, 'var/lib/vigo'), { recursive: true });
  writeFileSync(join(root, 'var/lib/vigo/state'), 'keep');
}

test('no resource may touch the agent\'s own paths', async (t) => {
  const { root, opts } = envoyRoot(t);
  agentFiles(root);
  const b = bundle([
    { type: 'file', path: '/etc/vigo-envoy/agent.yaml', content: 'pwned' },
    { type: 'file', path: '/var/lib/vigo/state', state: 'absent' },
    { type: 'directory', path: '/srv/vigo/stacks' },
    { type: 'symlink', path: '/var/run/vigo', target: '/tmp' },
    { type: 'directory', path: '/etc', state: 'absent', recurse: true },
    { type: 'symlink', path: '/var/lib', target: '/tmp', force: true },
    { type: 'file', path: '/etc/ok', content: 'fine' },
  ]);
  const r = await converge(b, opts);
  assert.deepEqual(r.counts, { ok: 0, changed: 1, failed: 6 });
  for (const e of r.resources.slice(0, 6)) assert.match(e.message, /^refused: .*agent's own path/, e.id);
  assert.match(r.resources[4]!.message, /would remove the agent's own path \/etc\/vigo-envoy/);
  assert.equal(readFileSync(join(root, 'etc/vigo-envoy/agent.yaml'), 'utf8'), 'agent: {}\n');
  assert.equal(readFileSync(join(root, 'var/lib/vigo/state'), 'utf8'), 'keep');
  assert.equal(existsSync(join(root, 'srv/vigo')), false);
  assert.equal(readFileSync(join(root, 'etc/ok'), 'utf8'), 'fine');
});

test('a symlinked parent cannot lead into a protected path or out of the root', async (t) => {
  const { root, opts } = envoyRoot(t);
  agentFiles(root);
  const outside = mkdtempSync(join(tmpdir(), 'vgt-outside-'));
  t.after(() => rmSync(outside, { recursive: true, force: true }));
  mkdirSync(join(root, 'opt'));
  symlinkSync(join(root, 'etc/vigo-envoy'), join(root, 'opt/sneaky'));
  symlinkSync(outside, join(root, 'opt/out'));
  symlinkSync('../../..', join(root, 'opt/up'));
  const r = await converge(
    bundle([
      { type: 'file', path: '/opt/sneaky/agent.yaml', content: 'pwned' },
      { type: 'file', path: '/opt/out/x', content: 'escaped' },
      { type: 'directory', path: '/opt/up/new-dir' },
      { type: 'exec', command: 'true', creates: '/opt/out/marker' },
    ]),
    opts,
  );
  assert.equal(r.counts.failed, 4);
  assert.match(r.resources[0]!.message, /inside the agent's own path \/etc\/vigo-envoy/);
  assert.match(r.resources[1]!.message, /outside the filesystem root through a symlinked parent/);
  assert.match(r.resources[2]!.message, /outside the filesystem root/);
  assert.match(r.resources[3]!.message, /^refused: creates/);
  assert.equal(readFileSync(join(root, 'etc/vigo-envoy/agent.yaml'), 'utf8'), 'agent: {}\n');
  assert.equal(existsSync(join(outside, 'x')), false);
});

test('paths with .. or relative paths are refused before anything runs', async (t) => {
  const { root, opts } = envoyRoot(t);
  for (const path of ['/etc/../../escape', 'etc/motd', '/etc/./motd']) {
    await assert.rejects(converge(bundle([{ type: 'file', path, content: 'x' }]), opts), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_BAD_BUNDLE');
      assert.match(e.message, /resources\[0\]\.path/);
      return true;
    });
  }
  assert.equal(existsSync(join(root, 'etc')), false);
});

test('the agent defaults put the root, the protected paths and the policy dir under VIGO_ROOT', () => {
  const o = agentConvergeOptions({ VIGO_ROOT: '/tmp/envoy-1' });
  assert.equal(o.fsRoot, '/tmp/envoy-1');
  assert.deepEqual(o.protectedPaths, ['/etc/vigo-envoy', '/var/lib/vigo', '/var/run/vigo', '/srv/vigo']);
  assert.equal(o.usercratePolicyDir, '/tmp/envoy-1/var/lib/vigo/usercrate-policy');
  assert.equal(agentConvergeOptions({}).usercratePolicyDir, '/var/lib/vigo/usercrate-policy');
});
