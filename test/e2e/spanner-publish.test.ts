// Spanner-mode `vigocli config publish` and the stacks watcher on real vigosrv bolts (two
// on loopback, a spanner formed by init / invite / join), against stacks bare repos a test
// makes with git at the contract paths of each bolt's host (<VIGO_ROOT>/var/lib/vigo/swarm/
// gitback/projects/<pid>.git, state under <VIGO_ROOT>/srv/vigo/ops-puddle/.vigo-gitback/).
// Between the two hosts a test loop pushes A's bare repo into B's, standing in for the swarm
// (test/e2e/spanner-stacks.test.ts runs the real replication). A publish reaches both bolts
// and reports them; an unchanged tree commits nothing; invalid stacks push nothing; a bolt
// that does not receive the head is named after 30 s; an invalid head pushed around the
// validation is refused by every watcher with .live untouched and shown by bolt show and
// spanner status.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Fleet, waitFor } from '../server/harness.js';
import { cliOk, startSpanner, type SpannerBed } from '../helpers/spanner-bed.js';
import { projectId } from '../../src/trust/index.js';

const MOTD = (c: string): string => `name: motd\nresources:\n  - type: file\n    path: /etc/motd\n    content: "${c}"\n    mode: "0644"\n`;
const ENVOYS = 'envoys:\n  - match: "*"\n    configcrates: [motd]\n';

let bed: SpannerBed;
let A: Fleet, B: Fleet;
const founder = randomBytes(32);
const pid = projectId(founder, 'stacks');
const bareOf = (f: Fleet): string => join(f.srvRoot, 'var', 'lib', 'vigo', 'swarm', 'gitback', 'projects', `${pid}.git`);

const git = (cwd: string, ...args: string[]): string => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function plant(f: Fleet): void {
  const state = join(f.srvRoot, 'srv', 'vigo', 'ops-puddle', '.vigo-gitback', pid);
  mkdirSync(state, { recursive: true, mode: 0o700 });
  writeFileSync(join(state, 'project.json'), JSON.stringify({ version: 1, project_id: pid, handle: 'stacks', founder: founder.toString('hex'), scope: 'members-only', members: [], role: 'member', created_at: 1, cross_subnet_members: [], tombstoned_at: null, successor: null }));
  mkdirSync(join(bareOf(f), '..'), { recursive: true });
  // HEAD names master, which never exists: as gitback's ensureBareRepo leaves a bare repo, the stacks live on main
  git(f.dir, '-c', 'init.defaultBranch=master', 'init', '-q', '--bare', bareOf(f));
}

/**
 * What the swarm does between the hosts: A's heads into B's bare repo, by a shell loop in
 * its own process (the vigocli calls below block this one's event loop).
 */
let relay: ChildProcess | null = null;
function startRelay(): void {
  relay = spawn('sh', ['-c', 'while :; do git --git-dir "$1" push -q --force "file://$2" "refs/heads/*:refs/heads/*" 2>/dev/null; sleep 0.3; done', 'relay', bareOf(A), bareOf(B)], { stdio: 'ignore' });
}
async function stopRelay(): Promise<void> {
  const r = relay;
  relay = null;
  if (r === null || r.exitCode !== null) return;
  const gone = new Promise((res) => r.once('exit', res));
  r.kill('SIGKILL');
  await gone;
}

interface Status {
  stacks: { project_id: string | null; bare: string | null; commit: string | null; error: { commit: string; problem: string } | null } | null;
  bolts: { bolt_id: string; config_version: number | null; stacks: { commit: string | null; error: { commit: string; problem: string } | null } | null }[];
}
const status = (f: Fleet): Status => JSON.parse(cliOk(f, ['spanner', 'status', '--json'])) as Status;
const version = async (f: Fleet): Promise<number> => (await f.api<{ version: number }>('GET', '/api/v1/config/version')).version;

before(async () => {
  bed = await startSpanner([
    { id: 'bolt-a', patterns: ['web-*'] },
    { id: 'bolt-b', patterns: ['db-*'] },
  ]);
  [A, B] = bed.bolts as [Fleet, Fleet];
  plant(A);
  plant(B);
  for (const f of [A, B]) await waitFor('the watcher finds the stacks project', () => status(f).stacks?.project_id === pid, 30_000, 200);
});
after(async () => {
  await stopRelay();
  await bed?.cleanup();
});

test('a publish on A commits into the stacks project and both bolts serve the new head', async (t) => {
  startRelay();
  A.writeStacks({ motd: MOTD('one') }, ENVOYS);
  const [va, vb] = [await version(A), await version(B)];
  let t0 = performance.now();
  const out = cliOk(A, ['config', 'publish']);
  const spannerMs = performance.now() - t0;
  assert.match(out, /^Published stacks commit [0-9a-f]{12} \(2 files\) to the stacks project [0-9a-f]{16}…\nConfig version \d+ live on bolt bolt-a; all 2 bolt\(s\) serve it after [\d.]+ s:\n {2}bolt-a {2}config version \d+\n {2}bolt-b {2}config version \d+\n$/);
  const head = git(A.dir, '--git-dir', bareOf(A), 'rev-parse', 'refs/heads/main').trim();
  assert.ok(out.includes(head.slice(0, 12)));
  assert.equal(await version(A), va + 1);
  assert.equal(await version(B), vb + 1);
  for (const b of status(B).bolts) assert.equal(b.stacks?.commit, head, `${b.bolt_id} serves the head`);
  // live, nothing refused (no agent here: the line also says nothing replicates from this bolt)
  assert.match(cliOk(B, ['spanner', 'bolt', 'show', 'bolt-b']), new RegExp(`Stacks: +live at ${head.slice(0, 12)}(\\n|; NOT REPLICATED from this bolt: )`));

  // a deletion travels: B's .live loses the file A's stacks no longer have
  A.writeStacks({ motd: MOTD('two'), extra: 'name: extra\nresources: []\n' }, ENVOYS);
  const j = JSON.parse(cliOk(A, ['config', 'publish', '--json'])) as { changed: boolean; commit: string; bolts: { bolt_id: string; reached: boolean }[] };
  assert.equal(j.changed, true);
  assert.deepEqual(j.bolts.map((b) => [b.bolt_id, b.reached]), [['bolt-a', true], ['bolt-b', true]]);
  rmSync(join(A.stacksDir, 'configcrates', 'extra.vgo'));
  cliOk(A, ['config', 'publish']);
  const liveB = join(B.dataDir, '.live');
  assert.equal(existsSync(join(liveB, 'configcrates', 'extra.vgo')), false, 'the deletion reached B');
  assert.match(readFileSync(join(liveB, 'configcrates', 'motd.vgo'), 'utf8'), /two/);

  // the figure: a spanner-mode publish (both bolts serve it) against a one-bolt publish, same run
  A.writeStacks({ motd: MOTD('timed') }, ENVOYS);
  t0 = performance.now();
  cliOk(A, ['config', 'publish', '--bolt-only']);
  const boltOnlyMs = performance.now() - t0;
  t.diagnostic(`publish until both bolts serve it: ${Math.round(spannerMs)} ms (the CLI: ${/after ([\d.]+) s/.exec(out)?.[1]} s waiting); --bolt-only publish: ${Math.round(boltOnlyMs)} ms`);
  A.writeStacks({ motd: MOTD('three') }, ENVOYS);
  assert.match(cliOk(A, ['config', 'publish']), /all 2 bolt\(s\) serve it/, 'a spanner publish after a --bolt-only one puts every bolt on the head again');

  // every publish is on main, one history: HEAD dangling (master) made no second root
  assert.equal(git(A.dir, '--git-dir', bareOf(A), 'for-each-ref', '--format=%(refname)', 'refs/heads/').trim(), 'refs/heads/main');
  assert.equal(git(A.dir, '--git-dir', bareOf(A), 'rev-list', '--max-parents=0', 'main').trim().split('\n').length, 1);

  // nothing changed: no commit, said so
  const vNow = await version(A);
  assert.match(cliOk(A, ['config', 'publish']), /^Nothing to publish: the stacks match the stacks project head [0-9a-f]{12} \(config version \d+ on bolt bolt-a\)\n$/);
  assert.equal(await version(A), vNow);
});

test('invalid stacks are refused before anything is pushed', async () => {
  const head = git(A.dir, '--git-dir', bareOf(A), 'rev-parse', 'refs/heads/main').trim();
  writeFileSync(join(A.stacksDir, 'configcrates', 'motd.vgo'), 'name: motd\nresources: [\n');
  const r = A.cli('vigocli.js', ['config', 'publish']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /stacks are invalid; nothing was published[\s\S]*motd\.vgo/);
  assert.equal(git(A.dir, '--git-dir', bareOf(A), 'rev-parse', 'refs/heads/main').trim(), head);
  A.writeStacks({ motd: MOTD('two') }, ENVOYS);
});

test('an invalid head pushed around the validation is refused on every bolt with .live untouched, and reported', async () => {
  const [la, lb] = [readlinkSync(join(A.dataDir, '.live')), readlinkSync(join(B.dataDir, '.live'))];
  const [va, vb] = [await version(A), await version(B)];
  const work = mkdtempSync(join(A.dir, 'bad-'));
  git(work, 'clone', '-q', '-b', 'main', `file://${bareOf(A)}`, 'w');
  writeFileSync(join(work, 'w', 'configcrates', 'motd.vgo'), 'name: motd\nresources: [\n');
  git(join(work, 'w'), 'commit', '-q', '-am', 'broken');
  git(join(work, 'w'), 'push', '-q', 'origin', 'HEAD:refs/heads/main');
  const bad = git(join(work, 'w'), 'rev-parse', 'HEAD').trim();
  for (const f of [A, B]) await waitFor('the bad head is refused', () => status(f).stacks?.error?.commit === bad, 30_000, 200);
  assert.equal(readlinkSync(join(A.dataDir, '.live')), la);
  assert.equal(readlinkSync(join(B.dataDir, '.live')), lb);
  assert.deepEqual([await version(A), await version(B)], [va, vb]);
  const show = cliOk(A, ['spanner', 'bolt', 'show', 'bolt-b']);
  assert.match(show, new RegExp(`Stacks: +live at [0-9a-f]{12}; REFUSED head ${bad.slice(0, 12)}: configcrates/motd\\.vgo:\\d+: `));
  const st = cliOk(A, ['spanner', 'status']);
  assert.match(st, new RegExp(`bolt-b: stacks live at [0-9a-f]{12}; REFUSED head ${bad.slice(0, 12)}`));
  // this bed runs no agent: no bolt's push reaches replication, and status says so
  assert.match(st, /bolt-a: stacks .*; NOT REPLICATED from this bolt: gitback: not replicated: .*\(retrying; check this host's `vigo agent run`/);

  // a fixed publish on top moves every bolt on
  const out = cliOk(A, ['config', 'publish']);
  assert.match(out, /all 2 bolt\(s\) serve it/);
  for (const b of status(A).bolts) assert.equal(b.stacks?.error, null);
});

test('a bolt that does not receive the head is named after 30 s', async () => {
  await stopRelay();
  A.writeStacks({ motd: MOTD('unrelayed') }, ENVOYS);
  const r = A.cli('vigocli.js', ['config', 'publish']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /commit [0-9a-f]{12} is in the stacks project, but within 30 s these bolts did not reach it: bolt-b \(still at [0-9a-f]{12}\)/);
  assert.doesNotMatch(r.stderr, /bolt-a \(/);
  // the commit stays the head: once B receives it, B serves it on its own
  startRelay();
  const head = git(A.dir, '--git-dir', bareOf(A), 'rev-parse', 'refs/heads/main').trim();
  await waitFor('B catches up', () => status(B).stacks?.commit === head, 30_000, 200);
  await stopRelay();
});
