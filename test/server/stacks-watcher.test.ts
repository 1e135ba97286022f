// The stacks watcher against a real bare repo at the contract path
// (<gitback-base>/projects/<pid>.git, pid = sha256(ops-puddle pubkey ‖ "stacks"), project
// state under <ops-puddle-dir>/.vigo-gitback/<pid>/): a new head goes live delete-aware and
// the version rises; an invalid head leaves .live untouched, is reported, and is not
// retried; a restarted watcher syncs to the head that moved while it was down.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openDb } from '../../src/server/db.js';
import { PolicyState } from '../../src/server/policy.js';
import { currentLiveTarget } from '../../src/server/publish/live.js';
import { StacksWatcher, findStacksProject, stacksBareRepo } from '../../src/server/publish/stacks-watcher.js';
import { projectId } from '../../src/trust/index.js';

const root = mkdtempSync(join(tmpdir(), 'vigo-stacks-watch-'));
after(() => rmSync(root, { recursive: true, force: true }));
const data = join(root, 'srv');
const opsDir = join(root, 'ops-puddle');
const gitbackBase = join(root, 'gitback');
const work = join(root, 'work');
const founder = randomBytes(32);
const pid = projectId(founder, 'stacks');
const bare = stacksBareRepo(gitbackBase, pid);
const gitHost = { PATH: process.env.PATH, HOME: root };

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8', env: { ...process.env, HOME: root, GIT_CONFIG_NOSYSTEM: '1' } });

function projectState(dir: string, id: string, fields: Record<string, unknown> = {}): void {
  mkdirSync(join(opsDir, '.vigo-gitback', dir), { recursive: true });
  const cfg = { version: 1, project_id: id, handle: 'stacks', founder: founder.toString('hex'), scope: 'members-only', members: [], role: 'member', created_at: 1, cross_subnet_members: [], tombstoned_at: null, successor: null, ...fields };
  writeFileSync(join(opsDir, '.vigo-gitback', dir, 'project.json'), JSON.stringify(cfg));
}

function commit(files: Record<string, string | null>, msg: string): string {
  for (const [f, content] of Object.entries(files)) {
    const p = join(work, f);
    if (content === null) rmSync(p, { force: true });
    else {
      mkdirSync(join(p, '..'), { recursive: true });
      writeFileSync(p, content);
    }
  }
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', msg);
  git(work, 'push', '-q', `file://${bare}`, 'HEAD:refs/heads/main');
  return git(work, 'rev-parse', 'HEAD').trim();
}

const motd = (c: string): string => `name: motd\nresources:\n  - type: file\n    path: /etc/motd\n    content: "${c}"\n`;
const ENVOYS = 'envoys:\n  - match: "*"\n    configcrates: [motd]\n';

function make(db: ReturnType<typeof openDb>, logs: string[]): { p: PolicyState; w: StacksWatcher } {
  const p = new PolicyState(db, data, join(data, '.live'), join(data, 'stacks'));
  p.boot();
  const w = new StacksWatcher({ db, opsPuddleDir: opsDir, gitbackBase, scratchDir: data, gitHost, publish: (d) => p.publish(d), log: (m) => logs.push(m) });
  return { p, w };
}

test('the watcher syncs each new head into .live, refuses an invalid one untouched, and catches up after a restart', async () => {
  mkdirSync(data, { recursive: true });
  const db = openDb(join(data, 'db', 'vigo.db'));
  const logs: string[] = [];
  let { p, w } = make(db, logs);

  // no stacks project on this host yet: nothing happens
  await w.check();
  assert.equal(w.state().project_id, null);
  assert.equal(p.version, 0);

  projectState(pid, pid);
  mkdirSync(join(gitbackBase, 'projects'), { recursive: true });
  git(root, 'init', '-q', '--bare', bare);
  mkdirSync(work);
  git(work, 'init', '-q');
  const c1 = commit({ 'envoys.vgo': ENVOYS, 'configcrates/motd.vgo': motd('one'), 'configcrates/old.vgo': 'name: old\nresources: []\n' }, 'stacks init');
  await w.check();
  assert.equal(w.state().commit, c1);
  assert.equal(p.version, 1);
  assert.match(p.bundleJson('web-01', 0), /"content":"one"/);
  assert.ok(existsSync(join(data, '.live', 'configcrates', 'old.vgo')));

  // a change and a deletion: the deleted file is gone from .live
  const c2 = commit({ 'configcrates/motd.vgo': motd('two'), 'configcrates/old.vgo': null }, 'two');
  await w.check();
  assert.equal(w.state().commit, c2);
  assert.equal(p.version, 2);
  assert.match(readFileSync(join(data, '.live', 'configcrates', 'motd.vgo'), 'utf8'), /two/);
  assert.equal(existsSync(join(data, '.live', 'configcrates', 'old.vgo')), false, 'delete-aware');

  // an unchanged head: no work, no version
  await w.check();
  assert.equal(p.version, 2);

  // an invalid head: .live untouched, the error names the commit and the file, no retry
  const target = currentLiveTarget(data);
  const bad = commit({ 'configcrates/motd.vgo': 'name: motd\nresources: [\n' }, 'broken');
  await w.check();
  assert.equal(p.version, 2);
  assert.equal(currentLiveTarget(data), target);
  assert.equal(w.state().commit, c2);
  assert.equal(w.state().error?.commit, bad);
  assert.match(w.state().error?.problem ?? '', /^configcrates\/motd\.vgo:/);
  const refusals = logs.filter((l) => l.includes('was refused')).length;
  assert.equal(refusals, 1);
  git(bare, 'pack-refs', '--all'); // the refs signature changes, the head does not
  await w.check();
  assert.equal(logs.filter((l) => l.includes('was refused')).length, 1, 'the same bad head is not retried');

  // a symlink in the tree is refused by name, as publish refuses it
  symlinkSync('/etc/shadow', join(work, 'configcrates', 'leak.vgo'));
  const linked = commit({ 'configcrates/motd.vgo': motd('three') }, 'symlink');
  await w.check();
  assert.equal(w.state().error?.commit, linked);
  assert.match(w.state().error?.problem ?? '', /leak\.vgo/);
  assert.equal(p.version, 2);
  rmSync(join(work, 'configcrates', 'leak.vgo'));

  // the bolt is down while the head moves; a new watcher on the same database syncs to it
  await w.stop();
  const c4 = commit({ 'configcrates/motd.vgo': motd('four') }, 'four');
  ({ p, w } = make(db, logs));
  assert.equal(w.state().commit, c2, 'the synced commit survives the restart');
  await w.check();
  assert.equal(w.state().commit, c4);
  assert.equal(w.state().error, null);
  assert.equal(p.version, 3);
  assert.match(p.bundleJson('web-01', 0), /"content":"four"/);

  // running on its own: a push is picked up without anyone calling check()
  w.start();
  const c5 = commit({ 'configcrates/motd.vgo': motd('five') }, 'five');
  for (let i = 0; i < 600 && w.state().commit !== c5; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(w.state().commit, c5);
  assert.equal(p.version, 4);
  await w.stop();
  db.close();
});

test('a stacks project state naming an id its founder does not give is refused, naming the file', () => {
  const dir = mkdtempSync(join(root, 'forged-'));
  const other = randomBytes(32).toString('hex');
  mkdirSync(join(dir, '.vigo-gitback', pid), { recursive: true });
  const cfg = { version: 1, project_id: pid, handle: 'stacks', founder: other, scope: 'members-only', members: [], role: 'member', created_at: 1, cross_subnet_members: [], tombstoned_at: null, successor: null };
  writeFileSync(join(dir, '.vigo-gitback', pid, 'project.json'), JSON.stringify(cfg));
  assert.throws(() => findStacksProject(dir), /project\.json: the stacks project of founder/);
  writeFileSync(join(dir, '.vigo-gitback', pid, 'project.json'), JSON.stringify({ ...cfg, founder: founder.toString('hex'), extra: 1 }));
  assert.throws(() => findStacksProject(dir), /unknown field 'extra'/);
  writeFileSync(join(dir, '.vigo-gitback', pid, 'project.json'), JSON.stringify({ ...cfg, founder: founder.toString('hex') }));
  assert.equal(findStacksProject(dir), pid);
});

test('every ref move is handed to replication (the agent asked once per move, at start too); a failure is asked again after its backoff and logged once', async () => {
  // runs after the first test: the project state, the bare repo and the work tree exist
  const d = join(root, 'srv-replicate');
  mkdirSync(d, { recursive: true });
  const db = openDb(join(d, 'vigo.db'));
  const p = new PolicyState(db, d, join(d, '.live'), join(d, 'stacks'));
  p.boot();
  const logs: string[] = [];
  let now = 1_000_000;
  const asked: string[] = [];
  const answers: Array<{ ok: boolean; lines: string[] }> = [
    { ok: false, lines: ['gitback: not replicated: connect ENOENT gitback.sock'] },
    { ok: false, lines: ['gitback: not replicated: connect ENOENT gitback.sock'] },
    { ok: true, lines: ['gitback: replicated to 2 of 2 peers'] },
  ];
  let inFlight: Promise<unknown> = Promise.resolve();
  const w = new StacksWatcher({
    db, opsPuddleDir: opsDir, gitbackBase, scratchDir: d, gitHost, publish: (x) => p.publish(x), log: (m) => logs.push(m), now: () => now,
    replicate: (id) => {
      asked.push(id);
      const a = answers.shift() ?? { ok: true, lines: [] };
      inFlight = Promise.resolve(a);
      return inFlight as Promise<typeof a>;
    },
  });
  const settle = async () => {
    await inFlight;
    await new Promise((r) => setImmediate(r));
  };
  await w.check();
  await settle();
  assert.deepEqual(asked, [pid], 'asked at start: a push made while nothing replicated is carried');
  assert.equal(w.state().replicate_error, 'gitback: not replicated: connect ENOENT gitback.sock', 'spanner status and bolt show say why');
  await w.check();
  await settle();
  assert.equal(asked.length, 1, 'not again before the backoff');
  now += 2_000;
  await w.check();
  await settle();
  assert.equal(asked.length, 2, 'asked again after 2 s');
  now += 3_000;
  await w.check();
  await settle();
  assert.equal(asked.length, 2, 'the backoff doubled (4 s)');
  now += 1_000;
  await w.check();
  await settle();
  assert.equal(asked.length, 3);
  assert.equal(logs.filter((l) => /not replicated yet/.test(l)).length, 1, 'the same failure is logged once');
  assert.ok(logs.includes('stacks watcher: gitback: replicated to 2 of 2 peers'), logs.join('\n'));
  assert.equal(w.state().replicate_error, null, 'cleared once handed over');
  await w.check();
  await settle();
  assert.equal(asked.length, 3, 'nothing moved: not asked');
  commit({ 'configcrates/motd.vgo': motd('replicated') }, 'a file:// push');
  await w.check();
  await settle();
  assert.equal(asked.length, 4, 'the move is handed over');
  await w.stop();
  db.close();
});
