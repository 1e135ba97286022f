// The project verbs against a real agent process (helper daemon + reactor) and real git,
// as one user (the test's own uid; the daemon maps it to a home through a passwd file
// given in agent.yaml). Multi-user access control is in test/e2e/gitback*.test.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, seedSigner, toHex, tokenId, type Token } from '../../src/trust/index.js';
import { projectInit, projectReanchor, projectRefound } from '../../src/gitback/project/found.js';
import { projectPush } from '../../src/gitback/project/publish.js';
import { projectInvite, projectJoin, projectLeave, projectReinviteAll, projectRevoke } from '../../src/gitback/project/membership.js';
import { projectList, projectStatus } from '../../src/gitback/project/show.js';
import { gitbackGcOrphans, gitbackPurge, gitbackStatus } from '../../src/gitback/project/envoy.js';
import { rekeyPreflight, runRekeyHook } from '../../src/gitback/rekey-hook.js';
import { startAgent, testContext } from './harness.js';
import { pathWithProgram } from '../helpers/program.js';
import { ensureBound } from '../../src/gitback/bind-client.js';
import { run } from './proc.js';

const dir = mkdtempSync(join(tmpdir(), 'vgt-verbs-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const vroot = join(dir, 'root');
const homeA = join(dir, 'home-a');
const homeB = join(dir, 'home-b');
for (const d of [vroot, homeA, homeB]) mkdirSync(d, { recursive: true });
const uid = process.getuid?.() ?? 0;
const passwd = join(dir, 'passwd');
writeFileSync(passwd, `tester:x:${uid}:${uid}:tester:${homeA}:/bin/sh\n`);
const gitEnv = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x', PATH: pathWithProgram() };

function ctxFor(home: string) {
  const c = testContext(home, vroot, { uid, user: 'tester' });
  Object.assign(c.env, gitEnv);
  c.passwdFile = passwd;
  return c;
}

async function git(args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  return run('git', args, { cwd, env, timeoutMs: 60_000 });
}

const waitFor = async (cond: () => boolean, ms = 10_000) => {
  for (let i = 0; i < ms / 50 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(cond(), 'condition not reached in time');
};

test('found, publish, invite/join refusals, revoke sweep, rekey to the cap, re-found, gc-orphans, purge', async () => {
  const agent = await startAgent(vroot, { sweep_interval_s: 0.3, passwd_file: passwd }, { ...process.env, ...gitEnv });
  after(() => agent.stop());
  const a = ctxFor(homeA);
  const work = join(homeA, 'demo');
  mkdirSync(work);
  a.cwd = work;
  await git(['init', '-q', '-b', 'main', work], work, a.env);
  writeFileSync(join(work, 'README'), 'hello\n');
  await git(['add', '.'], work, a.env);
  await git(['commit', '-qm', 'first'], work, a.env);
  await git(['tag', 'v1'], work, a.env);

  // init from inside a work tree founds and publishes
  await projectInit(a, 'demo', {});
  const out = a.text();
  assert.match(out, /✓ Founded project demo/);
  const pid = /gitback:\/\/([0-9a-f]{64})\/demo/.exec(out)?.[1] as string;
  assert.ok(pid);
  assert.match(out, /Published\./);
  const bare = join(vroot, 'var/lib/vigo/swarm/gitback/projects', `${pid}.git`);
  const refs = await git(['--git-dir', bare, 'for-each-ref', '--format=%(refname)'], dir, a.env);
  assert.deepEqual(refs.stdout.trim().split('\n'), ['refs/heads/main', 'refs/tags/v1']);
  assert.equal((await git(['remote', 'get-url', 'swarm'], work, a.env)).stdout.trim(), `gitback://${pid}/demo`);

  // init twice refuses; list and status show it; a handle prefix resolves
  await assert.rejects(projectInit(a, 'demo', { push: false }), /already founded/);
  a.stdout.length = 0;
  projectList(a, {});
  assert.match(a.stdout.join(''), /^HANDLE\s+SCOPE\s+MEMBERS\s+TOKENS\s+PROJECT_ID\ndemo\s+swarm-wide\s+1\s+1\s+[0-9a-f]{16}…/);
  a.stdout.length = 0;
  projectList(a, { json: true });
  assert.equal((JSON.parse(a.stdout.join('')) as { project_id: string }[])[0]?.project_id, pid);
  a.stdout.length = 0;
  projectStatus(a, 'de');
  assert.match(a.stdout.join(''), /Delegations:\s+0\/5/);

  // the envoy-wide status comes from the daemon
  a.stdout.length = 0;
  await gitbackStatus(a);
  assert.match(a.stdout.join(''), /projects:\s+1 \(1 with a local bare repo\)/);
  assert.match(a.stdout.join(''), /demo\s+swarm-wide\s+2 ref\(s\)/);
  assert.match(a.stdout.join(''), /socket present/);

  // invitations: for another puddle, for another project, and a good one
  const b = ctxFor(homeB);
  const c = ctxFor(join(dir, 'home-c'));
  a.stdout.length = 0;
  await projectInvite(a, 'demo', { puddle: `ed25519:${toHex(b.publicKey())}`, role: 'member' });
  const invitation = a.stdout.join('');
  const memberTokenId = /token id: ([0-9a-f]{64})/.exec(a.stderr.join(''))?.[1] as string;
  c.input.push(invitation);
  await assert.rejects(projectJoin(c, pid, {}), /issued for another puddle/);
  b.input.push(invitation);
  await assert.rejects(projectJoin(b, 'f'.repeat(64), {}), /this invitation is for project demo/);
  b.input.push(invitation);
  await projectJoin(b, pid, {});
  assert.match(b.text(), /✓ Joined project demo/);
  b.input.push(invitation.replace(/"role": "member"/, '"role": "admin"'));
  await assert.rejects(projectJoin(b, pid, {}), /already hold|does not verify|BAD_SIGNATURE/);

  // a member cannot invite or revoke
  await assert.rejects(projectInvite(b, 'demo', { puddle: toHex(c.publicKey()), role: 'member' }), /only admins can invite/);
  await assert.rejects(projectRevoke(b, 'demo', { tokenId: memberTokenId }), /only admins can revoke/);

  // the admin revokes the member's token: a sentinel, swept into the envelope store
  await projectRevoke(a, 'demo', { tokenId: memberTokenId, reason: 'left the team' });
  // (stored as revokes/<envelope id>.u<uid>.json)
  const revokes = join(vroot, 'var/lib/vigo/swarm/gitback/envelopes', pid, 'revokes');
  await waitFor(() => existsSync(revokes) && readdirSync(revokes).some((n) => n.endsWith(`.u${uid}.json`)));
  assert.equal(existsSync(join(homeA, '.vigo-gitback', pid, 'revoke.pending')), false);

  // a tampered tokens.json is refused by the verbs and by the daemon
  const tokensFile = join(homeA, '.vigo-gitback', pid, 'tokens.json');
  const good = readFileSync(tokensFile, 'utf8');
  writeFileSync(tokensFile, good.replace(/"issued_at": (\d+)/, (_m, n: string) => `"issued_at": ${Number(n) - 1}`));
  await assert.rejects(projectInvite(a, 'demo', { puddle: toHex(c.publicKey()), role: 'member' }), /does not verify.*tokens\.json|tokens\.json.*does not verify/s);
  const tampered = await git(['push', 'swarm', 'main'], work, a.env);
  assert.notEqual(tampered.status, 0);
  assert.match(tampered.stderr, /E_BAD_SIGNATURE/);
  writeFileSync(tokensFile, good);

  // --repo publishes another work tree from wherever the verb runs
  const other = join(homeA, 'elsewhere', 'tools');
  mkdirSync(other, { recursive: true });
  await git(['init', '-q', '-b', 'main', other], other, a.env);
  writeFileSync(join(other, 'x'), 'x\n');
  await git(['add', '.'], other, a.env);
  await git(['commit', '-qm', 'tools'], other, a.env);
  a.stdout.length = 0;
  a.stderr.length = 0;
  await projectInit(a, 'tools', { repo: other });
  assert.match(a.stdout.join(''), /Published\./);
  await assert.rejects(projectInit(a, 'nowhere', { repo: join(dir, 'not-a-repo') }), /is not a git work tree/);

  // a second founded project rides along to the cap (for --force-orphan-projects below)
  await projectInit(a, 'capped', { push: false });
  // leave by the founder: its chain is only the root, which a leave never retires
  // (E_LEAVE_ROOT), so no envelope is signed and the emptied state directory goes
  await projectInit(a, 'brief', { push: false });
  const briefPid = (JSON.parse((a.stdout.length = 0, projectList(a, { json: true }), a.stdout.join(''))) as { handle: string; project_id: string }[]).find((p) => p.handle === 'brief')?.project_id as string;
  a.input.push('n');
  await assert.rejects(projectLeave(a, 'brief', {}), /not confirmed/);
  a.input.push('y');
  await projectLeave(a, 'brief', {});
  await waitFor(() => !existsSync(join(homeA, '.vigo-gitback', briefPid)));
  assert.match(a.stdout.join(''), /No LEAVE envelope: you are its founder/);
  assert.equal(existsSync(join(vroot, 'var/lib/vigo/swarm/gitback/envelopes', briefPid, 'leaves')), false);

  // reanchor: the founder is refused; a member forks the project under its own key
  await assert.rejects(projectReanchor(a, 'demo'), /already the founder/);
  b.input.push('demo');
  await projectReanchor(b, 'demo');
  const forkPid = /Project ID:\s+([0-9a-f]{64})/.exec(b.stdout.join(''))?.[1] as string;
  assert.match(b.stdout.join(''), /Migrated 2 ref\(s\)/);
  assert.ok(existsSync(join(vroot, 'var/lib/vigo/swarm/gitback/projects', `${forkPid}.git`)));

  // an admin invitee keeps its role when re-invite-all re-grants access after a rekey
  const adminInvitee = toHex(generateKeyPair().publicKey);
  await projectInvite(a, 'demo', { puddle: adminInvitee, role: 'admin' });

  // five founder rekeys: pushing keeps working, status warns then shows AT CAP
  for (let i = 1; i <= 5; i++) {
    const old = await a.signer();
    const next = seedSigner(generateKeyPair().seed);
    rekeyPreflight({ oldPublicKey: old.publicKey, forceOrphanProjects: false, home: homeA });
    const lines = await runRekeyHook({ oldSigner: old, newPublicKey: next.publicKey, now: a.now(), forceOrphanProjects: false, home: homeA });
    assert.match(lines.join('\n'), new RegExp(`demo: delegation ${i}/5 appended`));
    assert.match(lines.join('\n'), new RegExp(`capped: delegation ${i}/5 appended`));
    assert.match(lines.join('\n'), new RegExp(`tools: delegation ${i}/5 appended`));
    a.setSigner(next);
    // what the registered hook does after runRekeyHook: move the uid binding to the new key
    await ensureBound(a, next);
    writeFileSync(join(work, 'README'), `rekey ${i}\n`);
    await git(['commit', '-qam', `after rekey ${i}`], work, a.env);
    const p = await git(['push', '-q', 'swarm', 'main'], work, a.env);
    assert.equal(p.status, 0, p.stderr);
    if (i === 1) {
      a.stdout.length = 0;
      await projectReinviteAll(a, 'demo');
      const granted = new Map(
        a.stdout.map((text) => {
          const leaf = (JSON.parse(text) as { chain: Token[] }).chain.at(-1) as Token;
          return [leaf.subject, leaf.role] as const;
        }),
      );
      assert.equal(granted.get(adminInvitee), 'admin');
      // b's token was revoked ('left the team'): re-invite-all skips it and says so
      assert.equal(granted.get(toHex(b.publicKey())), undefined);
      assert.match(a.stderr.join(''), /not re-inviting .*: revoked/);
    }
  }
  const chain = JSON.parse(readFileSync(tokensFile, 'utf8')) as Token[];
  assert.equal(chain.length, 2);
  assert.equal(chain[1]?.subject, toHex(a.publicKey()));
  a.stdout.length = 0;
  projectStatus(a, 'demo');
  assert.match(a.stdout.join(''), /AT CAP/);
  assert.throws(() => rekeyPreflight({ oldPublicKey: a.publicKey(), forceOrphanProjects: false, home: homeA }), /--force-orphan-projects/);

  // the founder, even after rekeys, cannot reanchor its own project (that is re-found's job)
  await assert.rejects(projectReanchor(a, 'demo'), /current founder of demo/);

  // re-found: new id, every ref migrated, old tombstoned and refused by the daemon
  a.input.push('wrong');
  await assert.rejects(projectRefound(a, 'demo', {}), /not confirmed/);
  a.input.push('demo');
  a.stdout.length = 0;
  await projectRefound(a, 'demo', {});
  const newPid = /Project ID:\s+([0-9a-f]{64})/.exec(a.stdout.join(''))?.[1] as string;
  assert.ok(newPid && newPid !== pid);
  // the members carry over, so the follow-up re-invite-all the verb prints re-invites them with their roles
  a.stdout.length = 0;
  await projectReinviteAll(a, newPid);
  const regranted = new Map(
    a.stdout.map((text) => {
      const inv = JSON.parse(text) as { project: { project_id: string }; chain: Token[] };
      assert.equal(inv.project.project_id, newPid);
      const leaf = inv.chain.at(-1) as Token;
      return [leaf.subject, leaf.role] as const;
    }),
  );
  assert.equal(regranted.get(adminInvitee), 'admin');
  // b's token was revoked above ('left the team'): re-found does not carry b, nobody re-invites it
  assert.equal(regranted.get(toHex(b.publicKey())), undefined);
  const newBare = join(vroot, 'var/lib/vigo/swarm/gitback/projects', `${newPid}.git`);
  const oldHeads = (await git(['--git-dir', bare, 'for-each-ref'], dir, a.env)).stdout;
  assert.equal((await git(['--git-dir', newBare, 'for-each-ref'], dir, a.env)).stdout, oldHeads);
  const refused = await git(['push', 'swarm', 'main'], work, a.env);
  assert.notEqual(refused.status, 0);
  assert.match(refused.stderr, /E_TOMBSTONED/);
  a.stdout.length = 0;
  await projectPush(a, 'demo', {});
  assert.match(a.stdout.join(''), /re-pointed/);
  assert.equal((await git(['remote', 'get-url', 'swarm'], work, a.env)).stdout.trim(), `gitback://${newPid}/demo`);

  // a sixth rekey with --force-orphan-projects tombstones what is at the cap, extends the rest
  const old6 = await a.signer();
  const next6 = seedSigner(generateKeyPair().seed);
  rekeyPreflight({ oldPublicKey: old6.publicKey, forceOrphanProjects: true, home: homeA });
  const lines6 = (await runRekeyHook({ oldSigner: old6, newPublicKey: next6.publicKey, now: a.now(), forceOrphanProjects: true, home: homeA })).join('\n');
  assert.match(lines6, /capped: at the delegation cap — tombstoned/);
  assert.match(lines6, /demo: delegation 1\/5 appended/);
  a.setSigner(next6);
  a.stdout.length = 0;
  projectStatus(a, 'capped');
  assert.match(a.stdout.join(''), /TOMBSTONED/);

  // without the daemon, status falls back to a local scan marked partial
  await agent.stop();
  a.stdout.length = 0;
  await gitbackStatus(a);
  assert.match(a.stdout.join(''), /socket absent|partial data:/);
  assert.match(a.stdout.join(''), /partial data:/);

  // gc-orphans: exactly the bare repos nobody holds
  const orphan = join(vroot, 'var/lib/vigo/swarm/gitback/projects', `${'0'.repeat(64)}.git`);
  await git(['init', '-q', '--bare', orphan], dir, a.env);
  a.stdout.length = 0;
  gitbackGcOrphans(a, {});
  // the orphan, and the member's reanchored fork (home-b is not a passwd user here)
  assert.match(a.stdout.join(''), /^2 orphan bare repo\(s\)/);
  assert.match(a.stdout.join(''), new RegExp(forkPid));
  assert.match(a.stdout.join(''), /dry-run — nothing deleted/);
  assert.ok(existsSync(orphan));
  gitbackGcOrphans(a, { yes: true });
  assert.equal(existsSync(orphan), false);
  assert.ok(existsSync(bare) && existsSync(newBare));
  assert.equal(existsSync(join(vroot, 'var/lib/vigo/swarm/gitback/projects', `${forkPid}.git`)), false);

  // purge without --yes only prints; with a pending sentinel it warns after wiping
  await projectRevoke(a, 'demo', { tokenId: tokenId(chain[0] as Token).replace(/^./, 'f') });
  a.stdout.length = 0;
  gitbackPurge(a, {});
  assert.match(a.stdout.join(''), /dry-run/);
  a.stdout.length = 0;
  gitbackPurge(a, { yes: true });
  assert.match(a.stdout.join(''), /1 pending envelope sentinel\(s\) were wiped/);
  assert.equal(existsSync(join(homeA, '.vigo-gitback')), false);
  if (uid === 0) assert.equal(existsSync(join(vroot, 'var/lib/vigo/swarm/gitback/projects')), false);
});

test('the usercrate gate refuses a non-root user without gitback: true, naming the file', async () => {
  const u = testContext(join(dir, 'home-u'), vroot, { uid: 4242, user: 'someone' });
  const file = join(vroot, 'var/lib/vigo/usercrate-policy/someone.json');
  await assert.rejects(projectInit(u, 'x', { push: false }), (e: Error) => e.message.includes(file) && /does not exist/.test(e.message));
  mkdirSync(join(vroot, 'var/lib/vigo/usercrate-policy'), { recursive: true });
  writeFileSync(file, JSON.stringify({ gitback: false }));
  assert.throws(() => projectList(u, {}), /does not grant gitback: true/);
  writeFileSync(file, JSON.stringify({ gitback: true }));
  projectList(u, {});
  assert.match(u.stdout.join(''), /no projects/);
});
