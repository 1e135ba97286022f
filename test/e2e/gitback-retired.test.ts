// Issue 10 item 7: a non-root founder's `project re-invite-all` must not re-mint a token for
// a member another admin revoked (the envelope store is root's; the helper daemon answers
// `retired` to callers holding state for the project). Real agent, real users, real CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { userSupport, type TestUser } from '../helpers/users.js';
import { envoyOf, ok, setupPuddle, until, workTreeWithCommit, type Sh } from '../gitback/users-env.js';
import { raw } from '../gitback/hostile.js';

const why = userSupport();

test('an admin revokes a member the founder invited: the non-root founder’s re-invite-all skips them as revoked; a stranger cannot list the retired tokens', { skip: why ?? false, timeout: 300_000 }, async () => {
  const { envoy, agent, users, sh } = await envoyOf('gbt', ['a', 'b', 'c', 'd']);
  const [ua, , , ud] = users as [TestUser, TestUser, TestUser, TestUser];
  const [A, B, C] = sh as [Sh, Sh, Sh, Sh];
  setupPuddle(A);
  const pkB = setupPuddle(B);
  const pkC = setupPuddle(C);
  const work = workTreeWithCommit(A, ua, 'demo', 'founding commit');
  const init = ok(A.vigo(['swarm', 'gitback', 'project', 'init', 'demo'], { cwd: work }), 'project init');
  const pid = /gitback:\/\/([0-9a-f]{64})\/demo/.exec(init.stdout)?.[1] as string;
  const invB = ok(A.vigo(['swarm', 'gitback', 'project', 'invite', 'demo', '--puddle', pkB, '--role', 'member']), 'invite B (member)');
  const tokenB = /token id: ([0-9a-f]{64})/.exec(invB.stderr)?.[1] as string;
  ok(B.vigo(['swarm', 'gitback', 'project', 'join', pid], { input: invB.stdout }), 'B joins');
  const invC = ok(A.vigo(['swarm', 'gitback', 'project', 'invite', 'demo', '--puddle', pkC, '--role', 'admin']), 'invite C (admin)');
  ok(C.vigo(['swarm', 'gitback', 'project', 'join', pid], { input: invC.stdout }), 'C joins');
  const url = `gitback://${pid}/demo`;
  ok(B.git(['ls-remote', url]), 'B (member) fetches');

  // C, an admin, revokes B (a revoke A never signed); the reactor sweeps it into the store
  ok(C.vigo(['swarm', 'gitback', 'project', 'revoke', 'demo', '--token-id', tokenB, '--reason', 'left the team']), 'C revokes B');
  await until('B is refused after the sweep', () => /E_REVOKED/.test(B.git(['ls-remote', url]).stderr), agent.log);

  // the founder, not root, re-invites everyone: B is skipped as revoked, C is re-invited
  const re = ok(A.vigo(['swarm', 'gitback', 'project', 're-invite-all']), 're-invite-all');
  assert.match(re.stderr, new RegExp(`not re-inviting [^\\n]*on 'demo': revoked by an admin: left the team \\(token ${tokenB.slice(0, 16)}…\\)`), re.stderr);
  assert.match(re.stderr, /re-invite for project 'demo' → [^\n]*\(admin, token [0-9a-f]{64}\)/, re.stderr);
  assert.match(re.stderr, /✓ 1 re-invite invitation\(s\) printed/, re.stderr);
  assert.doesNotMatch(re.stderr, /warning: could not learn/, 'the daemon answered');
  assert.ok(re.stdout.includes(pkC), 'C’s invitation is on stdout');
  assert.ok(!re.stdout.includes(pkB), 'no invitation for B on stdout');

  // a stranger with no state for the project asks the daemon for its retired tokens: refused
  const sock = join(envoy.root, 'var/run/vigo/gitback.sock');
  const [d] = await raw(ud, sock, [{ line: { v: 1, op: 'retired', project_id: pid } }], 5_000);
  const answer = JSON.parse(d!.data.split('\n')[0]!) as { ok: boolean; code?: string };
  assert.equal(answer.ok, false, d!.data);
  assert.equal(answer.code, 'E_NOT_MEMBER', d!.data);
  assert.doesNotMatch(d!.data, new RegExp(tokenB), 'no token id reaches the stranger');
});
