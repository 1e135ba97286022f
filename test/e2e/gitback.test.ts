// Gitback on one envoy, end to end: a real agent (helper daemon + reactor, as root) and
// two real Unix users running the real CLI and real git with their own puddles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, toHex } from '../../src/trust/index.js';
import { userSupport } from '../helpers/users.js';
import { vigoBin } from '../gitback/harness.js';
import { grantGitback, ok, setupPuddle, twoUserEnvoy, workTreeWithCommit } from '../gitback/users-env.js';
import { run } from '../gitback/proc.js';

const why = userSupport();

test('two users, one envoy: found, invite, join, clone, push, fetch, refusals, concurrent push, revoke, leave --purge', { skip: why ?? false, timeout: 110_000 }, async () => {
  const { dir, envoy, agent, ua, ub, A, B } = await twoUserEnvoy('gb', 0.5);

  // the usercrate gate comes first, naming the policy file
  const gated = A.vigo(['swarm', 'gitback', 'project', 'list']);
  assert.notEqual(gated.status, 0);
  assert.match(gated.stderr, new RegExp(`usercrate-policy/${ua.name}\\.json`));
  grantGitback(envoy, ua);
  grantGitback(envoy, ub);
  setupPuddle(A);
  const pkB = setupPuddle(B);

  // A founds `demo` from a work tree: registered and published in one command
  const work = workTreeWithCommit(A, ua, 'demo', 'founding commit');
  const init = ok(A.vigo(['swarm', 'gitback', 'project', 'init', 'demo'], { cwd: work }), 'project init');
  assert.match(init.stdout, /✓ Founded project demo/);
  assert.match(init.stdout, /Published\./);
  const pid = /gitback:\/\/([0-9a-f]{64})\/demo/.exec(init.stdout)?.[1] as string;
  const bare = join(envoy.root, 'var/lib/vigo/swarm/gitback/projects', `${pid}.git`);
  assert.ok(existsSync(bare));
  assert.equal((await run('stat', ['-c', '%a %u', bare])).stdout.trim(), '700 0');
  const status = ok(A.vigo(['swarm', 'gitback', 'status']), 'status').stdout;
  // (other passwd users on this host may hold projects too: the view is envoy-wide)
  assert.match(status, /projects:\s+\d+ \(\d+ with a local bare repo\)/);
  assert.match(status, /^ {4}demo {21}swarm-wide {4}1 ref\(s\), /m);
  assert.match(status, /socket present/);

  // a friendly URL resolves through the founder's own name claim; for anyone else it does not
  ok(A.vigo(['swarm', 'puddle', 'name', 'set', ua.name]), 'puddle name set');
  const friendly = ok(A.git(['ls-remote', `gitback://${ua.name}/demo`]), 'ls-remote by name');
  assert.match(friendly.stdout, /refs\/heads\/main/);
  const notB = B.git(['ls-remote', `gitback://${ua.name}/demo`]);
  assert.notEqual(notB.status, 0);
  assert.match(notB.stderr, new RegExp(`cannot resolve the puddle name '${ua.name}'`));

  // invitations: one for another puddle and one for another project are refused
  const stranger = toHex(generateKeyPair().publicKey);
  const foreign = ok(A.vigo(['swarm', 'gitback', 'project', 'invite', 'demo', '--puddle', stranger, '--role', 'member']), 'invite stranger').stdout;
  const r1 = B.vigo(['swarm', 'gitback', 'project', 'join', pid, '--invitation', '-'], { input: foreign });
  assert.notEqual(r1.status, 0);
  assert.match(r1.stderr, /issued for another puddle/);
  const inv = ok(A.vigo(['swarm', 'gitback', 'project', 'invite', 'de', '--puddle', `ed25519:${pkB}`, '--role', 'member']), 'invite B');
  const tokenB = /token id: ([0-9a-f]{64})/.exec(inv.stderr)?.[1] as string;
  assert.ok(tokenB);
  const r2 = B.vigo(['swarm', 'gitback', 'project', 'join', 'a'.repeat(64)], { input: inv.stdout });
  assert.notEqual(r2.status, 0);
  assert.match(r2.stderr, /this invitation is for project demo/);
  const joined = ok(B.vigo(['swarm', 'gitback', 'project', 'join', pid], { input: inv.stdout }), 'join');
  assert.match(joined.stdout, /✓ Joined project demo/);
  assert.match(joined.stdout, /Role:\s+Member/);

  // B clones, commits, pushes; A fetches that commit
  const clone = join(ub.home, 'demo');
  ok(B.git(['clone', '-q', `gitback://${pid}/demo`, clone]), 'B clone');
  writeFileSync(join(clone, 'from-b.txt'), 'hello from B\n');
  chownSync(join(clone, 'from-b.txt'), ub.uid, ub.gid);
  ok(B.git(['add', '.'], { cwd: clone }), 'B add');
  ok(B.git(['commit', '-qm', 'commit by B'], { cwd: clone }), 'B commit');
  ok(B.git(['push', '-q', 'origin', 'main'], { cwd: clone }), 'B push');
  const bHead = B.git(['rev-parse', 'HEAD'], { cwd: clone }).stdout.trim();
  ok(A.git(['fetch', '-q', 'swarm'], { cwd: work }), 'A fetch');
  assert.equal(A.git(['rev-parse', 'swarm/main'], { cwd: work }).stdout.trim(), bHead);
  assert.equal(A.git(['log', '-1', '--format=%s', 'swarm/main'], { cwd: work }).stdout.trim(), 'commit by B');

  // the member cannot invite or revoke
  const bInv = B.vigo(['swarm', 'gitback', 'project', 'invite', 'demo', '--puddle', stranger, '--role', 'member']);
  assert.notEqual(bInv.status, 0);
  assert.match(bInv.stderr, /only admins can invite/);
  const bRev = B.vigo(['swarm', 'gitback', 'project', 'revoke', 'demo', '--token-id', tokenB]);
  assert.notEqual(bRev.status, 0);
  assert.match(bRev.stderr, /only admins can revoke/);

  // a tampered tokens.json is refused (by the CLI and by the daemon)
  const tokensB = join(ub.home, '.vigo-gitback', pid, 'tokens.json');
  const goodTokens = readFileSync(tokensB, 'utf8');
  writeFileSync(tokensB, goodTokens.replace('"role": "member"', '"role": "admin"'));
  const tampered = B.git(['fetch', 'origin'], { cwd: clone });
  assert.notEqual(tampered.status, 0);
  assert.match(tampered.stderr, /E_BAD_SIGNATURE/);
  const tamperedStatus = B.vigo(['swarm', 'gitback', 'project', 'invite', 'demo', '--puddle', stranger, '--role', 'member']);
  assert.notEqual(tamperedStatus.status, 0);
  assert.match(tamperedStatus.stderr, /tokens\.json/);
  writeFileSync(tokensB, goodTokens);

  // B's uid can never act with A's chain: a raw request for A's private project, a
  // symlink into A's state, and a copy of A's chain are all refused
  ok(A.vigo(['swarm', 'gitback', 'project', 'init', 'solo', '--no-push']), 'init solo');
  const soloPid = JSON.parse(ok(A.vigo(['swarm', 'gitback', 'project', 'list', '--json']), 'list').stdout).find((p: { handle: string }) => p.handle === 'solo').project_id as string;
  const raw = `const n=require('net');const s=n.createConnection(process.argv[1]);s.write(JSON.stringify({v:1,op:'connect',service:'git-upload-pack',project_id:'${soloPid}',handle:'solo',git_protocol:null})+'\\n');s.on('data',d=>process.stdout.write(d));`;
  const rawOut = (await run(process.execPath, ['-e', raw, join(envoy.root, 'var/run/vigo/gitback.sock')], { uid: ub.uid, gid: ub.gid, env: { PATH: process.env.PATH }, timeoutMs: 20_000 })).stdout;
  assert.match(rawOut, /"ok":false.*E_NOT_MEMBER/);
  mkdirSync(join(ub.home, '.vigo-gitback'), { recursive: true });
  symlinkSync(join(ua.home, '.vigo-gitback', soloPid), join(ub.home, '.vigo-gitback', soloPid));
  const viaLink = B.git(['ls-remote', `gitback://${soloPid}/solo`]);
  assert.notEqual(viaLink.status, 0);
  assert.match(viaLink.stderr, /E_STATE_UNSAFE|symlink/);
  rmSync(join(ub.home, '.vigo-gitback', soloPid));
  cpSync(join(ua.home, '.vigo-gitback', soloPid), join(ub.home, '.vigo-gitback', soloPid), { recursive: true });
  for (const f of ['', 'project.json', 'tokens.json']) chownSync(join(ub.home, '.vigo-gitback', soloPid, f), ub.uid, ub.gid);
  const copied = B.git(['ls-remote', `gitback://${soloPid}/solo`]);
  assert.notEqual(copied.status, 0);
  assert.match(copied.stderr, /E_PRESENTER_MISMATCH/);
  rmSync(join(ub.home, '.vigo-gitback', soloPid), { recursive: true });

  // concurrent pushes to the same branch: one wins, the other is a clean non-fast-forward
  ok(A.git(['pull', '-q', '--ff-only', 'swarm', 'main'], { cwd: work }), 'A pull');
  writeFileSync(join(work, 'race-a.txt'), 'a\n');
  chownSync(join(work, 'race-a.txt'), ua.uid, ua.gid);
  ok(A.git(['add', '.'], { cwd: work }), 'A add');
  ok(A.git(['commit', '-qm', 'race A'], { cwd: work }), 'A commit');
  writeFileSync(join(clone, 'race-b.txt'), 'b\n');
  chownSync(join(clone, 'race-b.txt'), ub.uid, ub.gid);
  ok(B.git(['add', '.'], { cwd: clone }), 'B add');
  ok(B.git(['commit', '-qm', 'race B'], { cwd: clone }), 'B commit');
  const [pa, pb] = await Promise.all([A.gitAsync(['push', 'swarm', 'main'], { cwd: work }), B.gitAsync(['push', 'origin', 'main'], { cwd: clone })]);
  assert.equal([pa.status, pb.status].filter((s) => s === 0).length, 1, `exactly one push wins:\nA: ${pa.stderr}\nB: ${pb.stderr}`);
  const loser = pa.status === 0 ? pb : pa;
  assert.match(loser.stderr, /\[rejected\].*\((fetch first|non-fast-forward)\)/);
  const [loserSh, loserDir, loserRemote] = pa.status === 0 ? [B, clone, 'origin'] : [A, work, 'swarm'];
  ok(loserSh.git(['pull', '-q', '--rebase', loserRemote, 'main'], { cwd: loserDir }), 'loser rebase');
  ok(loserSh.git(['push', '-q', loserRemote, 'main'], { cwd: loserDir }), 'loser push');
  const subjects = (await run('git', ['--git-dir', bare, 'log', '--format=%s', 'main'])).stdout;
  for (const s of ['founding commit', 'commit by B', 'race A', 'race B']) assert.match(subjects, new RegExp(`^${s}$`, 'm'));

  // A revokes B's token; after the sweep B's fetch and push fail, naming the revocation
  const rev = ok(A.vigo(['swarm', 'gitback', 'project', 'revoke', 'demo', '--token-id', tokenB, '--reason', 'left the team']), 'revoke');
  assert.match(rev.stdout, /revoke\.pending/);
  // (stored as revokes/<envelope id>.u<uid>.json: one file per envelope and contributing uid)
  const storedDir = join(envoy.root, 'var/lib/vigo/swarm/gitback/envelopes', pid, 'revokes');
  const stored = () => existsSync(storedDir) && readdirSync(storedDir).some((n) => n.endsWith(`.u${ua.uid}.json`));
  for (let i = 0; i < 100 && !stored(); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(stored(), 'the reactor swept the revocation into the envelope store');
  const fetchRevoked = B.git(['fetch', 'origin'], { cwd: clone });
  assert.notEqual(fetchRevoked.status, 0);
  assert.match(fetchRevoked.stderr, /E_REVOKED.*revoked by an admin: left the team/);
  const pushRevoked = B.git(['push', 'origin', 'HEAD:refs/heads/after-revoke'], { cwd: clone });
  assert.notEqual(pushRevoked.status, 0);
  assert.match(pushRevoked.stderr, /E_REVOKED/);
  ok(A.git(['fetch', '-q', 'swarm'], { cwd: work }), 'A still fetches');

  // leave --purge needs root; as root it removes the bare repo
  const userPurge = A.vigo(['swarm', 'gitback', 'project', 'leave', 'demo', '--purge', '--yes']);
  assert.notEqual(userPurge.status, 0);
  assert.match(userPurge.stderr, /requires root/);
  const rootHome = join(dir, 'root-home');
  mkdirSync(rootHome);
  const asRoot = await run(process.execPath, [vigoBin, 'swarm', 'gitback', 'project', 'leave', pid, '--purge', '--yes'], {
    env: { ...process.env, HOME: rootHome, VIGO_ROOT: envoy.root },
  });
  assert.equal(asRoot.status, 0, asRoot.stderr);
  assert.match(asRoot.stdout, /Removed the bare repo/);
  assert.equal(existsSync(bare), false);

  // with the agent down, B leaves (the LEAVE waits as a sentinel) and purges: the
  // follow-up note says that envelope never reached the store or any peer
  await agent.stop();
  const left = ok(B.vigo(['swarm', 'gitback', 'project', 'leave', 'demo', '--yes']), 'B leave');
  assert.match(left.stdout, /leave\.pending/);
  const bPurge = ok(B.vigo(['swarm', 'gitback', 'purge', '--yes']), 'B purge');
  assert.match(bPurge.stdout, /1 pending envelope sentinel\(s\) were wiped before the agent swept them/);
  assert.equal(existsSync(join(ub.home, '.vigo-gitback')), false);
});
