// `npm run fleet`, as a new user runs it first: the whole demo with --exit. As root it
// also shows gitback — a Unix user made for the demo founds a project on web-01 and
// clones it through gitback:// — and leaves neither the user nor the temp dir behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkoutRoot } from '../helpers/program.js';
import { userSupport } from '../helpers/users.js';
import { run } from '../gitback/proc.js';

const why = userSupport();

test('npm run fleet -- --exit: converges, shows gitback end to end, removes its user and temp dir', { skip: why ?? false, timeout: 240_000 }, async () => {
  const r = await run(process.execPath, [join(checkoutRoot, 'scripts', 'fleet.mjs'), '--exit'], { cwd: checkoutRoot, env: process.env, timeoutMs: 230_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /every envoy converged and reported its run/);
  const user = /=== gitback on web-01, as the Unix user (vigofleet[0-9a-f]{6}) \(created for this demo\) ===/.exec(r.stdout)?.[1];
  assert.ok(user !== undefined, `no gitback section:\n${r.stdout}`);
  // the usercrate came through converge, the project was founded and cloned by the user
  assert.match(r.stdout, new RegExp(`usercrate-policy/${user}\\.json\\n  \\{ "version": 1, "user": "${user}", "puddle": true, "gitback": true`));
  assert.match(r.stdout, /✓ Founded project demo/);
  assert.match(r.stdout, new RegExp(`${user}@web-01\\$ git clone gitback://[0-9a-f]{64}/demo demo-clone\\n${user}@web-01\\$ git -C demo-clone log --oneline\\n  [0-9a-f]{7} first commit`));
  assert.doesNotMatch(r.stdout, /gitback was not shown/);
  // nothing left behind
  assert.ok(!readFileSync('/etc/passwd', 'utf8').split('\n').some((l) => l.startsWith(`${user}:`)), `${user} is still in /etc/passwd`);
  assert.equal(existsSync(`/home/${user}`), false);
  const base = /wrote a sample configcrate to (\/\S+)\/server\/srv\/vigo\/stacks/.exec(r.stdout)?.[1] as string;
  assert.equal(existsSync(base), false, `${base} was kept`);
});
