// Issue 15's end-to-end on the stacks bed (./stacks-bed.ts): three hosts each running a
// vigosrv bolt and an agent, a fourth (d) only an agent with no ops-puddle; the operator
// flow of the page (spanner init / invite / join, ops-puddle init / pair / join, stacks init
// / join) runs once in `before`. Then: B and C catch the imported head up from A; a publish
// on A brings every bolt to the new head and every envoy to the new policy; a bolt killed
// during a publish converges after restart; an invalid head is refused everywhere with
// .live untouched; a publish on B reaches every bolt too; the non-member envoy holds no
// stacks bytes. ONE bed for the file, removed in `after` whatever happened.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { netnsUnavailable } from '../helpers/netns.js';
import { until } from './swarm-fleet.js';
import { BOLTS, MOTD, SELF, StacksBed } from './stacks-bed.js';

const skip = netnsUnavailable();
const s = new StacksBed();
const { dir } = s;
const logs = s.logs;
const ok = s.ok.bind(s);
const cli = s.cli.bind(s);
const status = s.status.bind(s);
const dataDir = (h: string): string => s.dataDir(h);
const head = (h: string): string | null => s.head(h);
const bare = (h: string): string => s.bare(h);
const log = (f: string): string => s.log(f);

before(async () => {
  if (skip) return;
  await s.setup();
}, { timeout: 600_000 });

after(() => {
  if (skip) return;
  s.destroy();
});

test('A serves the imported stacks head; B and C receive the bytes from A (catch-up) and serve it too', { skip: skip ?? false, timeout: 300_000 }, async () => {
  const h0 = head('a');
  assert.ok(h0, 'stacks init pushed a head into A');
  await until('A serves the head', async () => (await status('a')).stacks?.commit === h0, logs, 60_000);
  for (const h of ['b', 'c']) await until(`${h}: the stacks bytes arrive (catch-up from A) and ${h} serves them`, async () => head(h) === h0 && (await status(h)).stacks?.commit === h0, logs, 120_000);
});

test('a publish on A reaches every bolt and every envoy of every bolt', { skip: skip ?? false, timeout: 300_000 }, async () => {
  writeFileSync(join(dataDir('a'), 'stacks', 'configcrates', 'motd.vgo'), MOTD('one'));
  const out = await ok('a', ['config', 'publish']);
  assert.match(out, /all 3 bolt\(s\) serve it/);
  // each bolt's envoys converge on the version that bolt now serves (not stale-policy)
  for (const h of BOLTS) {
    await until(`bolt-${h}'s envoys converge to the new policy`, async () => {
      const l = JSON.parse(await ok(h, [...SELF, 'envoys', 'list', '--json'])) as { envoys: { hostname: string; status: string }[] };
      return l.envoys.length > 0 && l.envoys.every((e) => e.status === 'converged');
    }, logs, 90_000);
  }
});

test('a bolt killed during a publish converges to the latest head after restart', { skip: skip ?? false, timeout: 300_000 }, async () => {
  await s.stopServer('c', 'SIGKILL');
  writeFileSync(join(dataDir('a'), 'stacks', 'configcrates', 'motd.vgo'), MOTD('two'));
  const r = await cli('a', ['config', 'publish']);
  assert.notEqual(r.code, 0, 'C is down: the publish names it');
  assert.match(r.stderr, /bolt-c \(unreachable/);
  await s.startServer('c');
  const h2 = head('a');
  await until('C serves the newest head after its restart', async () => (await status('c')).stacks?.commit === h2, logs, 120_000);
});

test('an invalid head is refused on every bolt with .live untouched', { skip: skip ?? false, timeout: 300_000 }, async () => {
  const live = Object.fromEntries(BOLTS.map((h) => [h, readlinkSync(join(dataDir(h), '.live'))]));
  const work = mkdtempSync(join(dir, 'bad-'));
  execFileSync('git', ['clone', '-q', '-b', 'main', `file://${bare('a')}`, work]);
  writeFileSync(join(work, 'configcrates', 'motd.vgo'), 'name: motd\nresources: [\n');
  execFileSync('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', 'broken']);
  execFileSync('git', ['-C', work, 'push', '-q', 'origin', 'HEAD:refs/heads/main']);
  const bad = execFileSync('git', ['-C', work, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  for (const h of BOLTS) await until(`${h} refuses ${bad.slice(0, 12)}`, async () => (await status(h)).stacks?.error?.commit === bad, logs, 120_000);
  for (const h of BOLTS) assert.equal(readlinkSync(join(dataDir(h), '.live')), live[h], `${h}: .live untouched`);
});

test('a publish on B (its own stacks tree, signed by its own service-account puddle) reaches every bolt, past the refused head', { skip: skip ?? false, timeout: 300_000 }, async () => {
  writeFileSync(join(dataDir('b'), 'stacks', 'configcrates', 'motd.vgo'), MOTD('from b'));
  // B's vigocli logged in to A (setup): --server names B's own vigosrv
  const out = await ok('b', [...SELF, 'config', 'publish']);
  assert.match(out, /all 3 bolt\(s\) serve it/);
  const hb = head('b');
  for (const h of BOLTS) {
    assert.equal(head(h), hb, `${h} holds B's commit`);
    const st = await status(h);
    assert.deepEqual([st.stacks?.commit, st.stacks?.error ?? null], [hb, null], `${h} serves it and the refusal is cleared`);
  }
  assert.match(log('agent-b.log'), /vigo-ops-puddle \(root\): 1 ref\(s\) of .* moved outside a receive/, "B's agent handed B's push over");
  // pushed to both other bolts' agents (the fan-out), not only caught up by them later
  await until("B's push reported as held by A's and C's agents", () => /stacks watcher: gitback: replicated to 2 of 2 peers/.test(log('srv-b.log')), logs, 30_000);
});

test('the non-member envoy (no ops-puddle on its host) never holds the stacks bytes', { skip: skip ?? false, timeout: 120_000 }, async () => {
  assert.ok(head('a') !== null);
  assert.equal(existsSync(bare('d')), false, 'd has no stacks repo');
  assert.doesNotMatch(log('agent-d.log'), new RegExp(`applied.*${s.pid.slice(0, 12)}`));
});
