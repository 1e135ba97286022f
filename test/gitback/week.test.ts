// An operator's week on one envoy, verb by verb, against a real agent (helper daemon +
// reactor) and real git. The verbs run in-process as the test's uid (root), so the
// founder can read the envelope store; the same stories with two real Unix users and real
// puddles are in test/e2e/gitback-week.test.ts.
//   Monday     an empty work tree is not "Published."; invitations with an expiry; a
//              friendly-URL clone; an expired invitation is told in ISO time
//   Tuesday    the revoke footgun: your own root token is refused, --force says what it
//              does, an unknown id is warned about; status counts envelopes, not files
//   Wednesday  a member leaves, the founder rekeys: re-invite-all skips the revoked and
//              the departed, keeps roles and expiries; the friendly URL still fetches
//   Thursday   one corrupt project.json: list shows it, every other verb works, leave drops it
//   Friday     the chain reaches the cap, rekey --force-orphan-projects, re-found by the new
//              key, push, re-invite-all, a member rejoins
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { makeNameMap } from '../../src/wire/swarm-fleet.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkLeave, generateKeyPair, seedSigner, toHex, tokenId, type Invitation, type Signer, type Token } from '../../src/trust/index.js';
import { projectInit, projectRefound } from '../../src/gitback/project/found.js';
import { projectPush } from '../../src/gitback/project/publish.js';
import { projectInvite, projectJoin, projectLeave, projectReinviteAll, projectRejoin, projectRevoke } from '../../src/gitback/project/membership.js';
import { projectList, projectStatus } from '../../src/gitback/project/show.js';
import { gitbackStatus } from '../../src/gitback/project/envoy.js';
import { rekeyPreflight, runRekeyHook } from '../../src/gitback/rekey-hook.js';
import { resolveProject } from '../../src/gitback/state.js';
import { storeLeave } from '../../src/gitback/envelopes.js';
import { repoRoot, startAgent, testContext, type Agent, type TestCtx } from './harness.js';
import { run } from './proc.js';

const dir = mkdtempSync(join(tmpdir(), 'vgt-week-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const vroot = join(dir, 'root');
const homeA = join(dir, 'home-a'); // the founder
const homeB = join(dir, 'home-b'); // a member
const homeM = join(dir, 'home-m'); // a member who leaves on Wednesday
for (const d of [vroot, homeA, homeB, homeM]) mkdirSync(d, { recursive: true });
const uid = process.getuid?.() ?? 0;
const passwd = join(dir, 'passwd');
// the daemon maps the uid to the first line (homeA); the reactor sweeps every listed home
writeFileSync(passwd, `tester:x:${uid}:${uid}:tester:${homeA}:/bin/sh\nleaver:x:${uid}:${uid}:leaver:${homeM}:/bin/sh\n`);
const gitEnv = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x', PATH: `${join(repoRoot, 'bin')}:${process.env.PATH}` };
const store = join(vroot, 'var/lib/vigo/swarm/gitback/envelopes');
const projects = join(vroot, 'var/lib/vigo/swarm/gitback/projects');
const DAY = 86_400;

function ctxFor(home: string, now?: () => number): TestCtx {
  const c = testContext(home, vroot, { uid, user: 'tester', ...(now ? { now } : {}) });
  Object.assign(c.env, gitEnv);
  c.passwdFile = passwd;
  return c;
}
const clear = (c: TestCtx) => {
  c.stdout.length = 0;
  c.stderr.length = 0;
};
async function git(args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const r = await run('git', args, { cwd, env, timeoutMs: 60_000 });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r;
}
const writeNameMap = (pubkey: string) => {
  mkdirSync(join(vroot, 'var/lib/vigo/swarm'), { recursive: true });
  writeFileSync(join(vroot, 'var/lib/vigo/swarm/name-map.json'), JSON.stringify(makeNameMap({ alice: { status: 'ok', pubkey } })));
};

let agent: Agent | null = null;
after(() => agent?.stop()); // the envoy runs all week (a hook inside a test would stop it after that day)
const a = ctxFor(homeA);
const b = ctxFor(homeB);
const work = join(homeA, 'web');
const friendly = join(homeA, 'friendly-clone');
let pid = '';
const keys = { k: seedSigner(generateKeyPair().seed), l: seedSigner(generateKeyPair().seed) };
const m = ctxFor(homeM);
const tokenOf = (c: TestCtx) => /token id: ([0-9a-f]{64})/.exec(c.stderr.join(''))?.[1] as string;
let bExpires = 0;
let kExpires = 0;

/** A founder rekey as `puddle rekey-pair` runs it: the hook with the old signer, then the new key. */
async function rekey(force = false): Promise<string> {
  const old = await a.signer();
  const next: Signer = seedSigner(generateKeyPair().seed);
  rekeyPreflight({ oldPublicKey: old.publicKey, forceOrphanProjects: force, home: homeA });
  const lines = await runRekeyHook({ oldSigner: old, newPublicKey: next.publicKey, now: a.now(), forceOrphanProjects: force, home: homeA });
  a.setSigner(next);
  return lines.join('\n');
}

test('Monday: an empty work tree is not "Published."; invitations with expiries; a friendly clone; an expired invitation in ISO time', async () => {
  agent = await startAgent(vroot, { sweep_interval_s: 3600, passwd_file: passwd }, { ...process.env, ...gitEnv });

  // a fresh `git init` has nothing to push: init says so instead of "Published."
  const empty = join(homeA, 'empty');
  mkdirSync(empty);
  await git(['init', '-q', '-b', 'main', empty], empty, a.env);
  a.cwd = empty;
  await projectInit(a, 'empty', {});
  assert.doesNotMatch(a.text(), /Published\./);
  assert.match(a.text(), /no commits yet: nothing was published\. Commit, then run `vigo swarm gitback project push empty`/);
  const emptyPid = /gitback:\/\/([0-9a-f]{64})\/empty/.exec(a.text())?.[1] as string;
  assert.equal(existsSync(join(projects, `${emptyPid}.git`)), false, 'no empty bare repo was made');

  mkdirSync(work);
  a.cwd = work;
  await git(['init', '-q', '-b', 'main', work], work, a.env);
  writeFileSync(join(work, 'README'), 'hello\n');
  await git(['add', '.'], work, a.env);
  await git(['commit', '-qm', 'first'], work, a.env);
  clear(a);
  await projectInit(a, 'web', {});
  assert.match(a.text(), /Published\./);
  pid = /gitback:\/\/([0-9a-f]{64})\/web/.exec(a.text())?.[1] as string;

  // invitations: a 30-day member, a 30-day admin, a member, and one who will leave
  clear(a);
  await projectInvite(a, 'web', { puddle: toHex(b.publicKey()), role: 'member', expires: '30d' });
  const invB = a.stdout.join('');
  bExpires = (JSON.parse(invB) as Invitation).chain.at(-1)?.expires_at as number;
  b.input.push(invB);
  await projectJoin(b, pid, {});
  clear(a);
  await projectInvite(a, 'web', { puddle: toHex(keys.k.publicKey), role: 'admin', expires: '30d' });
  kExpires = (JSON.parse(a.stdout.join('')) as Invitation).chain.at(-1)?.expires_at as number;
  clear(a);
  await projectInvite(a, 'web', { puddle: toHex(keys.l.publicKey), role: 'member' });
  assert.ok(tokenOf(a));
  clear(a);
  await projectInvite(a, 'web', { puddle: toHex(m.publicKey()), role: 'member' });
  m.input.push(a.stdout.join(''));
  await projectJoin(m, pid, {});

  // a friendly-URL clone (the fleet name map names the founder's puddle 'alice')
  writeNameMap(toHex(a.publicKey()));
  await git(['clone', '-q', 'gitback://alice/web', friendly], homeA, a.env);

  // an invitation used after its expiry is told in ISO time and relative words, no raw epoch
  const late = ctxFor(join(dir, 'home-late'), () => Math.floor(Date.now() / 1000) + 40 * DAY);
  clear(a);
  await projectInvite(a, 'empty', { puddle: toHex(late.publicKey()), role: 'member', expires: '30d' });
  late.input.push(a.stdout.join(''));
  await assert.rejects(projectJoin(late, emptyPid, {}), (e: Error) => {
    assert.match(e.message, /expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(10 days ago\)/);
    assert.doesNotMatch(e.message, /\b1\d{9}\b/, 'no raw unix time');
    return true;
  });
});

test('Tuesday: revoking your own root token is refused; --force says what it does; an unknown id is warned about; status counts envelopes', async () => {
  const root = resolveProject(join(homeA, '.vigo-gitback'), 'web').chain[0] as Token;
  clear(a);
  await assert.rejects(projectRevoke(a, 'web', { tokenId: tokenId(root) }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_SELF_LOCKOUT');
    assert.match(e.message, /is the project's root token \(chain\[0\]\); revoking it locks you out of web, and every member with you/);
    return true;
  });
  assert.equal(existsSync(join(homeA, '.vigo-gitback', pid, 'revoke.pending')), false, 'nothing queued');
  // the founder still pushes
  writeFileSync(join(work, 'tue.txt'), 'tue\n');
  await git(['add', '.'], work, a.env);
  await git(['commit', '-qm', 'tuesday'], work, a.env);
  await git(['push', '-q', 'swarm', 'main'], work, a.env);

  // on a throwaway project, --force goes through and says what it does
  await projectInit(a, 'scratch', { push: false });
  const scratchRoot = resolveProject(join(homeA, '.vigo-gitback'), 'scratch').chain[0] as Token;
  clear(a);
  await projectRevoke(a, 'scratch', { tokenId: tokenId(scratchRoot), force: true });
  assert.match(a.stderr.join(''), /warning: --force: token [0-9a-f]{16}… is the project's root token/);

  // an id this founder never saw: queued, with a warning
  clear(a);
  await projectRevoke(a, 'web', { tokenId: 'ab'.repeat(32) });
  assert.match(a.stderr.join(''), /warning: token abababababababab… is not one you have seen/);
  // revoking L's invitation (an id the founder issued): no warning
  const lToken = Object.entries(resolveProject(join(homeA, '.vigo-gitback'), 'web').config.issued ?? {}).find(([, t]) => t.subject === toHex(keys.l.publicKey))?.[0] as string;
  clear(a);
  await projectRevoke(a, 'web', { tokenId: lToken, reason: 'laptop lost' });
  assert.doesNotMatch(a.stderr.join(''), /warning/);

  // web's revoke.pending holds two envelopes, scratch's one: status counts three, not two files
  clear(a);
  await gitbackStatus(a);
  assert.match(a.stdout.join(''), /envelopes:\s+3 revoke\(s\), 0 leave\(s\) queued/);
});

test('Wednesday: a member leaves, the founder rekeys; re-invite-all skips revoked and departed, keeps roles and expiries; the friendly URL still fetches', async () => {
  m.input.push('y');
  await projectLeave(m, pid, {});
  // The reactor sweeps a LEAVE only when it is signed by the key bound to the sentinel's
  // uid. M shares the test's uid (bound to A's key) here, so its leave reaches the store
  // as it would from M's own envoy: already signed and stored (and verified again at use).
  const leaveFile = join(homeM, '.vigo-gitback', pid, 'leave.pending');
  storeLeave(store, checkLeave(JSON.parse(readFileSync(leaveFile, 'utf8'))));
  rmSync(leaveFile);
  // the reactor stores the revokes when it sweeps: restart the agent, which sweeps at start
  await agent?.stop();
  agent = await startAgent(vroot, { sweep_interval_s: 3600, passwd_file: passwd }, { ...process.env, ...gitEnv });
  const leaves = join(store, pid, 'leaves');
  for (let i = 0; i < 100 && !(existsSync(leaves) && readdirSync(leaves).length > 0); i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(readdirSync(leaves).length, 1);

  const lines = await rekey();
  assert.match(lines, /web: delegation 1\/5 appended/);
  writeNameMap(toHex(a.publicKey())); // the swarm layer republishes alice's claim under the new key

  clear(a);
  await projectReinviteAll(a, 'web');
  const err = a.stderr.join('');
  assert.match(err, new RegExp(`not re-inviting ed25519:${toHex(keys.l.publicKey).slice(0, 12)}.*: revoked`));
  assert.match(err, new RegExp(`not re-inviting ed25519:${toHex(m.publicKey()).slice(0, 12)}.*: left the project`));
  assert.match(err, /2 member\(s\) not re-invited/);
  const leaves2 = new Map(a.stdout.map((t) => {
    const leaf = (JSON.parse(t) as Invitation).chain.at(-1) as Token;
    return [leaf.subject, leaf] as const;
  }));
  assert.deepEqual([...leaves2.keys()].sort(), [toHex(b.publicKey()), toHex(keys.k.publicKey)].sort());
  assert.equal(leaves2.get(toHex(b.publicKey()))?.role, 'member');
  assert.equal(leaves2.get(toHex(b.publicKey()))?.expires_at, bExpires, 'the 30-day member keeps its bound');
  assert.equal(leaves2.get(toHex(keys.k.publicKey))?.role, 'admin');
  assert.equal(leaves2.get(toHex(keys.k.publicKey))?.expires_at, kExpires, 'the 30-day admin does not come back never-expiring');
  assert.match(err, /\(member, expires \d{4}-\d\d-\d\dT.*Z \(in 30 days\), token [0-9a-f]{64}\)/);

  // the clone made by friendly URL before the rekey keeps fetching
  const f = await run('git', ['fetch', 'origin'], { cwd: friendly, env: a.env, timeoutMs: 60_000 });
  assert.equal(f.status, 0, f.stderr);
  assert.equal((await git(['rev-parse', 'origin/main'], friendly, a.env)).stdout, (await git(['rev-parse', 'main'], work, a.env)).stdout);
});

test('Thursday: one corrupt project.json: list shows it broken, the other projects work, leave --yes drops it', async () => {
  const scratch = resolveProject(join(homeA, '.vigo-gitback'), 'scratch').config.project_id;
  const file = join(homeA, '.vigo-gitback', scratch, 'project.json');
  writeFileSync(file, '{"version": 1, "handle": "scratch", oops');
  clear(a);
  projectList(a, {});
  const list = a.stdout.join('');
  assert.match(list, /^web\s+swarm-wide/m);
  assert.match(list, new RegExp(`^\\(broken\\)\\s+\\?\\s+\\?\\s+\\?\\s+${scratch.slice(0, 16)}…`, 'm'));
  const errLine = list.split('\n').find((l) => l.includes('is broken')) as string;
  assert.equal(errLine.split(file).length - 1, 1, `the path is named once: ${errLine}`);
  // every other verb keeps working
  projectStatus(a, 'web');
  clear(a);
  await gitbackStatus(a);
  assert.match(a.stdout.join(''), /web\s+swarm-wide\s+\d+ ref\(s\)/);
  await projectReinviteAll(a, undefined);
  await git(['ls-remote', 'swarm'], work, a.env);
  // naming the broken one gives its error, once
  assert.throws(() => projectStatus(a, scratch), (e: Error) => e.message.split(file).length - 1 === 1 && /oops|offset/.test(e.message));
  clear(a);
  await projectLeave(a, scratch, { yes: true });
  assert.match(a.stdout.join(''), /Removed the unreadable local state/);
  clear(a);
  projectList(a, {});
  assert.doesNotMatch(a.stdout.join(''), /broken/);
});

test('Friday: at the cap, rekey --force-orphan-projects; the new key re-founds, pushes, re-invites; a member rejoins', async () => {
  for (let i = 2; i <= 5; i++) assert.match(await rekey(), new RegExp(`web: delegation ${i}/5 appended`));
  clear(a);
  projectStatus(a, 'web');
  const st = a.stdout.join('');
  assert.match(st, /AT CAP/);
  assert.match(st, /Re-found it now: `vigo swarm gitback project re-found web` \(no rekey needed first/);
  assert.doesNotMatch(st, /\(after `vigo swarm puddle rekey-pair`\)/);
  assert.throws(() => rekeyPreflight({ oldPublicKey: a.publicKey(), forceOrphanProjects: false, home: homeA }), /--force-orphan-projects/);

  const orphan = await rekey(true);
  assert.match(orphan, /web: at the delegation cap — tombstoned \(--force-orphan-projects\); your new key holds an admin token on the archive: re-found it with `vigo swarm gitback project re-found web`/);
  clear(a);
  projectStatus(a, 'web');
  assert.match(a.stdout.join(''), /TOMBSTONED/);
  // re-invite-all names the tombstone, not "not the current founder"
  await assert.rejects(projectReinviteAll(a, 'web'), /web \([0-9a-f]{12}…\) is tombstoned \(orphaned at the delegation cap\)/);

  // the key that orphaned it re-founds it (the dead end of issue 10 item 1)
  a.input.push('web');
  clear(a);
  await projectRefound(a, 'web', {});
  const newPid = /Project ID:\s+([0-9a-f]{64})/.exec(a.stdout.join(''))?.[1] as string;
  assert.ok(newPid && newPid !== pid);
  assert.match(a.stdout.join(''), /Migrated 1 ref\(s\)/);
  clear(a);
  await projectPush(a, 'web', {});
  assert.match(a.stdout.join(''), /re-pointed/);
  writeFileSync(join(work, 'fri.txt'), 'fri\n');
  await git(['add', '.'], work, a.env);
  await git(['commit', '-qm', 'friday'], work, a.env);
  await git(['push', '-q', 'swarm', 'main'], work, a.env);

  // two 'web' projects on the envoy now: status tells them apart by id
  clear(a);
  await gitbackStatus(a);
  assert.match(a.stdout.join(''), new RegExp(`web \\(${pid.slice(0, 8)}…\\)`));
  assert.match(a.stdout.join(''), new RegExp(`web \\(${newPid.slice(0, 8)}…\\)`));

  // re-invite-all on the new project: b and k (expiries kept), not the revoked or departed
  clear(a);
  await projectReinviteAll(a, newPid);
  const invs = a.stdout.map((t) => JSON.parse(t) as Invitation);
  assert.deepEqual(invs.map((i) => i.chain.at(-1)?.subject).sort(), [toHex(b.publicKey()), toHex(keys.k.publicKey)].sort());
  const forB = invs.find((i) => i.chain.at(-1)?.subject === toHex(b.publicKey())) as Invitation;
  assert.equal(forB.chain.at(-1)?.expires_at, bExpires);
  b.input.push(JSON.stringify(forB));
  clear(b);
  await projectRejoin(b, newPid, {});
  assert.match(b.stdout.join(''), /✓ Re-joined project web \(chain refreshed\)/);
  assert.equal(resolveProject(join(homeB, '.vigo-gitback'), newPid).config.project_id, newPid);
  assert.equal(readFileSync(join(homeB, '.vigo-gitback', newPid, 'project.json'), 'utf8').includes('"role": "member"'), true);
});
