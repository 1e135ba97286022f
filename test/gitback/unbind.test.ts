// The helper daemon's `unbind` (what `vigo swarm puddle leave` asks): a uid drops its own
// binding and nobody else's, whatever the request says. Real agent, real second Unix user
// connecting over the socket (SO_PEERCRED decides who it is).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindingPath, writeBinding, type BindingRecord } from '../../src/gitback/binding.js';
import { paths } from '../../src/platform/paths.js';
import { createTestUser, removeTestUser, userSupport } from '../helpers/users.js';
import { startAgent } from './harness.js';
import { raw } from './hostile.js';
import { makeEnvoyRoot } from './users-env.js';

const skip = userSupport();

function record(uid: number, user: string, key: string): BindingRecord {
  return { v: 1, uid, user, pubkey: key, bound_at: 1_764_000_000, proof: { v: 1, kind: 'uid-binding', uid, pubkey: key, challenge: 'c'.repeat(64), issued_at: 1_764_000_000, sig: 'a'.repeat(128) } };
}

test('unbind drops the caller\'s own binding only; a request naming another uid is refused', { skip: skip ?? false, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vgt-unbind-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const mallory = createTestUser('unbindm');
  after(() => removeTestUser(mallory));
  const envoy = makeEnvoyRoot(dir);
  const env = { VIGO_ROOT: envoy.root };
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, `${mallory.name}:x:${mallory.uid}:${mallory.gid}::${mallory.home}:/bin/sh\n`);
  const agent = await startAgent(envoy.root, { sweep_interval_s: 60, passwd_file: passwd });
  after(() => agent.stop());
  const victim = 4242;
  writeBinding(env, record(victim, 'dan', 'd'.repeat(64)));
  writeBinding(env, record(mallory.uid, mallory.name, 'e'.repeat(64)));
  const sock = paths.gitbackSocket(env);

  // naming a uid is not part of the request: refused, nothing removed
  const [named] = await raw(mallory, sock, [{ line: { v: 1, op: 'unbind', uid: victim } }], 5_000);
  assert.match(named!.data, /"ok":false/);
  assert.match(named!.data, /unknown field in unbind request/);
  assert.ok(existsSync(bindingPath(env, victim)));
  assert.ok(existsSync(bindingPath(env, mallory.uid)));

  // the kernel says who is asking: mallory's own binding goes, dan's stays
  const [own] = await raw(mallory, sock, [{ line: { v: 1, op: 'unbind' } }], 5_000);
  assert.equal(own!.data.trim(), JSON.stringify({ ok: true, status: { uid: mallory.uid, removed: 'e'.repeat(64) } }));
  assert.equal(existsSync(bindingPath(env, mallory.uid)), false);
  assert.ok(existsSync(bindingPath(env, victim)), "another uid's binding is untouched");

  // again: nothing to remove, said so
  const [again] = await raw(mallory, sock, [{ line: { v: 1, op: 'unbind' } }], 5_000);
  assert.equal(again!.data.trim(), JSON.stringify({ ok: true, status: { uid: mallory.uid, removed: null } }));
});
