// The agent's trait collectors over real files in a temp VIGO_ROOT and real homes owned by
// real uids (we run as root): what each trait reads, what it refuses in a home the user
// controls (another uid's directory, a symlinked file), the bounds, and the change signal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, mintNameClaim, projectId, publicKeyFromSeed, seedSigner, sha256Hex, toHex } from '../../src/trust/index.js';
import { collectTraits, TraitsCollector, type PasswdUser } from '../../src/agent/traits/collect.js';
import { parseTraits, traitsSha, traitsText } from '../../src/wire/swarm-fleet.js';

const seed = (n: string) => fromHex(sha256Hex(`traits-collect/${n}`));
const pk = (n: string) => toHex(publicKeyFromSeed(seed(n)));
let root: string;
let users: PasswdUser[];
const env = () => ({ VIGO_ROOT: root });
const pid = projectId(fromHex(pk('alice')), 'web');
const gitbackBase = () => join(root, 'var/lib/vigo/swarm/gitback');

function own(path: string, uid: number): void {
  chownSync(path, uid, uid);
}
function homeFile(dir: string, name: string, text: string, uid: number): void {
  writeFileSync(join(dir, name), text);
  own(join(dir, name), uid);
}
function git(args: string[], cwd?: string): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: root, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@x', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@x' } }).trim();
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'traits-'));
  users = [
    { name: 'alice', uid: 5101, home: join(root, 'home/alice') },
    { name: 'bob', uid: 5102, home: join(root, 'home/bob') },
    { name: 'carol', uid: 5103, home: join(root, 'home/carol') },
    { name: 'nohome', uid: 5104, home: join(root, 'home/none') },
  ];
  for (const u of users.slice(0, 3)) {
    mkdirSync(u.home, { recursive: true });
    own(u.home, u.uid);
    const p = join(u.home, '.vigo-puddle');
    mkdirSync(p, { mode: 0o700 });
    own(p, u.name === 'bob' ? 5101 : u.uid); // bob's puddle directory is alice's: not his
    homeFile(p, 'identity.pub', `${pk(u.name)}\n`, u.uid);
    homeFile(p, 'identity.wrapped', 'x', u.uid);
  }
  const ap = join(users[0]!.home, '.vigo-puddle');
  homeFile(ap, 'name-claim.json', JSON.stringify(await mintNameClaim(seedSigner(seed('alice')), 'alice', 1764000000)), 5101);
  homeFile(ap, 'session.unlocked', JSON.stringify({ v: 1, pid: process.pid, pubkey: pk('alice'), unlocked_at: 1, idle_timeout_s: 0, watch_pid: null }), 5101);
  homeFile(ap, 'pair.pending', '{}', 5101);
  // carol's claim is a symlink to alice's: not followed
  symlinkSync(join(ap, 'name-claim.json'), join(users[2]!.home, '.vigo-puddle', 'name-claim.json'));
  // a session.unlocked naming a dead pid is not unlocked
  homeFile(join(users[2]!.home, '.vigo-puddle'), 'session.unlocked', JSON.stringify({ v: 1, pid: 2 ** 22 + 17, pubkey: pk('carol') }), 5103);
  // alice holds project "web"; a real bare repo with a pushed commit
  const g = join(users[0]!.home, '.vigo-gitback', pid);
  mkdirSync(g, { recursive: true });
  own(join(users[0]!.home, '.vigo-gitback'), 5101);
  own(g, 5101);
  homeFile(g, 'project.json', JSON.stringify({ version: 1, project_id: pid, handle: 'web', founder: pk('alice'), scope: 'swarm-wide', members: [pk('alice'), pk('bob')], tombstoned_at: null }), 5101);
  const bare = join(gitbackBase(), 'projects', `${pid}.git`);
  mkdirSync(join(gitbackBase(), 'projects'), { recursive: true });
  git(['init', '-q', '--bare', bare]);
  const work = join(root, 'work');
  git(['init', '-q', work]);
  writeFileSync(join(work, 'f'), 'hello\n');
  git(['add', 'f'], work);
  git(['commit', '-qm', 'one'], work);
  git(['push', '-q', bare, 'HEAD:refs/heads/main'], work);
  // envelopes: one revoke held for two uids (one envelope), another for none
  const rv = join(gitbackBase(), 'envelopes', pid, 'revokes');
  mkdirSync(rv, { recursive: true });
  for (const n of [`${'a'.repeat(64)}.u5101.json`, `${'a'.repeat(64)}.u5102.json`, `${'b'.repeat(64)}.json`, 'junk.txt']) writeFileSync(join(rv, n), '{}');
  // a replica held for no local user: its handle is not known here
  const relay = join(gitbackBase(), 'projects', `${'c'.repeat(64)}.git`);
  git(['init', '-q', '--bare', relay]);
  git(['push', '-q', relay, 'HEAD:refs/heads/relayed'], work);
  // carol's home: a project.json claiming alice's project under her own key and another handle,
  // and one for an id that key and handle do not derive: neither names a project
  const cg = join(users[2]!.home, '.vigo-gitback');
  mkdirSync(join(cg, pid), { recursive: true });
  mkdirSync(join(cg, 'd'.repeat(64)));
  for (const d of [cg, join(cg, pid), join(cg, 'd'.repeat(64))]) own(d, 5103);
  homeFile(join(cg, pid), 'project.json', JSON.stringify({ version: 1, project_id: pid, handle: 'stolen', founder: pk('carol'), scope: 'members-only', members: [pk('carol')], tombstoned_at: null }), 5103);
  homeFile(join(cg, 'd'.repeat(64)), 'project.json', JSON.stringify({ version: 1, project_id: 'd'.repeat(64), handle: 'made-up', founder: pk('carol'), scope: 'swarm-wide', members: [pk('carol')], tombstoned_at: null }), 5103);
});

after(() => rmSync(root, { recursive: true, force: true }));

test('puddle trait: key, initialized, unlocked (live pid), pair pending, the claim; refusals in homes users control', () => {
  const t = parseTraits(traitsText(collectTraits({ env: env(), users: () => users, log: () => undefined })));
  const by = new Map(t.puddle.users.map((u) => [u.user, u]));
  assert.deepEqual([...by.keys()].sort(), ['alice', 'carol'], "bob's puddle directory is not his; nohome has no home");
  const a = by.get('alice')!;
  assert.equal(a.pubkey, pk('alice'));
  assert.equal(a.initialized, true);
  assert.equal(a.unlocked, true);
  assert.equal(a.pair_pending, true);
  assert.equal(a.name_claim?.name, 'alice');
  const c = by.get('carol')!;
  assert.equal(c.name_claim, null, 'a symlinked claim is not followed');
  assert.equal(c.unlocked, false, 'session.unlocked of a dead pid');
  assert.equal(c.pair_pending, false);
});

test('gitback trait: project state from the user, refs from the bare repo, envelopes counted once per id', () => {
  const t = collectTraits({ env: env(), users: () => users, log: () => undefined });
  assert.equal(t.gitback.projects.length, 1);
  const p = t.gitback.projects[0]!;
  const tip = git(['--git-dir', join(gitbackBase(), 'projects', `${pid}.git`), 'rev-parse', 'refs/heads/main']);
  assert.deepEqual(p.refs, { 'refs/heads/main': tip });
  assert.equal(p.handle, 'web');
  assert.deepEqual(p.members, [pk('alice'), pk('bob')]);
  assert.equal(p.bare_repo, true);
  assert.ok(p.bare_repo_bytes > 0);
  assert.equal(p.revokes, 2);
  assert.equal(p.leaves, 0);
  assert.equal(p.tombstoned, false);
  assert.equal(p.founder, pk('alice'), "carol's project.json naming her key does not derive the id: ignored");
  assert.equal(p.scope, 'swarm-wide');
  assert.deepEqual(p.members, [pk('alice'), pk('bob')], 'no member from the forged file');
  // the replica held for no local user: what it holds, no name
  assert.deepEqual(t.gitback.replicas?.map((r) => [r.project_id, r.bare_repo, Object.keys(r.refs)]), [['c'.repeat(64), true, ['refs/heads/relayed']]]);
  assert.equal(t.cut, undefined, 'nothing was cut');
  assert.deepEqual(parseTraits(traitsText(t)), t, 'the replicas list parses back');
  // packed refs count too, and the refs cap cuts and says so
  const bare = join(gitbackBase(), 'projects', `${pid}.git`);
  writeFileSync(join(bare, 'packed-refs'), `# pack-refs with: peeled\n${Array.from({ length: 70 }, (_, i) => `${tip} refs/tags/t${String(i).padStart(2, '0')}`).join('\n')}\n`);
  const t2 = collectTraits({ env: env(), users: () => users, log: () => undefined });
  assert.equal(Object.keys(t2.gitback.projects[0]!.refs).length, 64);
  assert.ok(t2.cut?.some((c) => /project web: 7 ref\(s\) beyond 64 not reported/.test(c)), JSON.stringify(t2.cut));
  rmSync(join(bare, 'packed-refs'));
});

test('a tombstone marks the project', () => {
  mkdirSync(join(gitbackBase(), 'tombstones'), { recursive: true });
  writeFileSync(join(gitbackBase(), 'tombstones', `${pid}.json`), '{}');
  try {
    assert.equal(collectTraits({ env: env(), users: () => users, log: () => undefined }).gitback.projects[0]!.tombstoned, true);
  } finally {
    rmSync(join(gitbackBase(), 'tombstones', `${pid}.json`));
  }
});

test('change detection: nothing changed, nothing recollected; a new claim or a push is seen at once', async () => {
  let now = 1_000_000;
  const c = new TraitsCollector({ env: env(), users: () => users, log: () => undefined, passwdFile: null, now: () => now });
  const a = c.current();
  assert.equal(a.collected, true);
  assert.equal(a.sha256, traitsSha(a.text));
  const b = c.current();
  assert.equal(b.collected, false);
  assert.equal(b.sha256, a.sha256);
  // alice claims a new name (written atomically, as `puddle name set` does)
  const ap = join(users[0]!.home, '.vigo-puddle');
  homeFile(ap, '.tmp-claim', JSON.stringify(await mintNameClaim(seedSigner(seed('alice')), 'alice2', 1764000100)), 5101);
  renameSync(join(ap, '.tmp-claim'), join(ap, 'name-claim.json'));
  const d = c.current();
  assert.equal(d.collected, true);
  assert.notEqual(d.sha256, a.sha256);
  // a push moves a ref
  const work = join(root, 'work');
  writeFileSync(join(work, 'f'), 'two\n');
  git(['commit', '-qam', 'two'], work);
  git(['push', '-q', join(gitbackBase(), 'projects', `${pid}.git`), 'HEAD:refs/heads/main'], work);
  const e = c.current();
  assert.equal(e.collected, true);
  assert.notEqual(e.sha256, d.sha256);
  // past the max age it recollects even with no signal
  assert.equal(c.current().collected, false);
  now += 61_000;
  assert.equal(c.current().collected, true);
});
