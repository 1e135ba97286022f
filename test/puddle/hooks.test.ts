// Unlock hooks run right after a real unlock with a signer that goes through the new
// session helper; a failing hook is a warning, the puddle stays unlocked.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isUnlocked, readPublicKey } from '../../src/puddle/identity.js';
import { puddleHooks } from '../../src/puddle/index.js';
import { lockSession } from '../../src/puddle/session/client.js';
import { unlockPuddle } from '../../src/puddle/unlock.js';
import { generateKeyPair, seedSigner, verifyRaw } from '../../src/trust/index.js';
import { runUnlockHooks } from '../../src/puddle/hooks.js';
import { PASS, cleanupHome, ok, tempHome, vigo, withPass } from './harness.js';

const h = tempHome();
after(() => cleanupHome(h));

test('unlock hooks get the session signer; a failing hook does not undo the unlock', async () => {
  const dir = join(h, '.vigo-puddle');
  ok(vigo(h, ['init'], withPass()));
  const seen: { home: string; sigOk: boolean }[] = [];
  const hooks = puddleHooks();
  hooks.unlock.register({
    name: 'test-adopt',
    async run(ctx) {
      const msg = new TextEncoder().encode('adopt');
      seen.push({ home: ctx.home, sigOk: verifyRaw(readPublicKey(dir), msg, await ctx.signer.sign(msg)) });
      return ['adopted 0 projects'];
    },
  });
  hooks.unlock.register({
    name: 'test-broken',
    run: () => Promise.reject(new Error('cache unreadable')),
  });
  const r = await unlockPuddle(dir, () => Promise.resolve(PASS), { idleTimeoutS: 60, watchPid: null, home: h, hooks: hooks.unlock, env: process.env });
  assert.equal(r.already, false);
  assert.ok(!r.already);
  assert.deepEqual(r.lines, ['adopted 0 projects', 'warning: the test-broken unlock hook failed: cache unreadable']);
  assert.deepEqual(seen, [{ home: h, sigOk: true }]);
  assert.equal(isUnlocked(dir), true);
  assert.equal(await lockSession(dir), true);
});

test('hook registries are values: a hook registered for one puddle does not run for another in the same process', async () => {
  const a = puddleHooks();
  const b = puddleHooks();
  a.unlock.register({ name: 'gitback', run: () => Promise.resolve(['bound on envoy A']) });
  const ctx = { signer: seedSigner(generateKeyPair().seed), home: h, now: 1_800_000_000 };
  assert.deepEqual(await runUnlockHooks(a.unlock, ctx), ['bound on envoy A']);
  assert.deepEqual(await runUnlockHooks(b.unlock, ctx), []);
  assert.deepEqual(b.rekey.all(), []);
});
