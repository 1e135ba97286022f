// Unlock hooks run right after a real unlock with a signer that goes through the new
// session helper; a failing hook is a warning, the puddle stays unlocked.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { isUnlocked, readPublicKey } from '../../src/puddle/identity.js';
import { registerUnlockHook } from '../../src/puddle/index.js';
import { lockSession } from '../../src/puddle/session/client.js';
import { unlockPuddle } from '../../src/puddle/unlock.js';
import { verifyRaw } from '../../src/trust/index.js';
import { PASS, cleanupHome, ok, tempHome, vigo, withPass } from './harness.js';

const h = tempHome();
after(() => cleanupHome(h));

test('unlock hooks get the session signer; a failing hook does not undo the unlock', async () => {
  const dir = join(h, '.vigo-puddle');
  ok(vigo(h, ['init'], withPass()));
  const seen: { home: string; sigOk: boolean }[] = [];
  registerUnlockHook({
    name: 'test-adopt',
    async run(ctx) {
      const msg = new TextEncoder().encode('adopt');
      seen.push({ home: ctx.home, sigOk: verifyRaw(readPublicKey(dir), msg, await ctx.signer.sign(msg)) });
      return ['adopted 0 projects'];
    },
  });
  registerUnlockHook({
    name: 'test-broken',
    run: () => Promise.reject(new Error('cache unreadable')),
  });
  const r = await unlockPuddle(dir, () => Promise.resolve(PASS), { idleTimeoutS: 60, watchPid: null, home: h });
  assert.equal(r.already, false);
  assert.ok(!r.already);
  assert.deepEqual(r.lines, ['adopted 0 projects', 'warning: the test-broken unlock hook failed: cache unreadable']);
  assert.deepEqual(seen, [{ home: h, sigOk: true }]);
  assert.equal(isUnlocked(dir), true);
  assert.equal(await lockSession(dir), true);
});
