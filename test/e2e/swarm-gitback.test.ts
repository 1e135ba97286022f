// Issue 11 "What it must show", end to end: one vigosrv and four envoys (A–D) in four
// hosts of the netns bed, plus a fifth (X, hostname lab-x) that server.yaml's swarm
// patterns exclude; each envoy a real `vigo agent run` enrolled with a real token, with one
// real Unix user whose puddle is real. Alice founds the projects on A and invites Bob (B),
// Carol (C) and Dave (D). What an operator checks: the refs of each envoy's bare repo,
// what `git clone` / `git ls-remote` show the user there, and the agents' logs.
//
// The tests run in order and build on each other (one bed for the file: it takes a while).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { netnsUnavailable } from '../helpers/netns.js';
import { userSupport } from '../helpers/users.js';
import { commitAs as commit, ok, until, useSwarmFleet, type SwarmFleet } from './swarm-fleet.js';

const probeJs = fileURLToPath(new URL('./swarm-probe.js', import.meta.url));
const skip = netnsUnavailable() ?? userSupport();

/** the agents' catch-up round and announce interval in these tests (agent.yaml swarm:) */
const TICK_S = 2;
const ANNOUNCE_S = 2;
const PEER_PORT = 1531;
const GROUP = '239.77.15.31';
const GROUP_PORT = 15310;

const MEMBERS = ['b', 'c', 'd'];
const ALL = ['a', ...MEMBERS];

async function probe(f: SwarmFleet, host: string, args: string[]): Promise<Record<string, unknown>> {
  const r = await f.bed.exec(host, [process.execPath, probeJs, ...args], { timeoutMs: 60_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  assert.ok(line.startsWith('{'), `probe ${args[0]} in ${host}: ${r.stdout}${r.stderr}`);
  return JSON.parse(line) as Record<string, unknown>;
}

/** the hosts an envoy's gitback-announced.json lists for a project */
function announced(f: SwarmFleet, host: string, pid: string): string[] {
  const file = join(f.envoy(host).root, 'var/lib/vigo/swarm/gitback/gitback-announced.json');
  if (!existsSync(file)) return [];
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { projects: Array<{ project_id: string; hosts: string[] }> };
  return doc.projects.find((p) => p.project_id === pid)?.hosts ?? [];
}

function same(a: Record<string, string>, b: Record<string, string>): boolean {
  return JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
}

describe('gitback across four envoys (1 vigosrv, real users and puddles, netns bed)', { skip: skip ?? false }, () => {
  const fleet = useSwarmFleet({
    envoys: [
      { host: 'a', hostname: 'env-a', user: 'alice' },
      { host: 'b', hostname: 'env-b', user: 'bob' },
      { host: 'c', hostname: 'env-c', user: 'carol' },
      { host: 'd', hostname: 'env-d', user: 'dave' },
      { host: 'x', hostname: 'lab-x' },
    ],
    serverSwarm: '  enabled: ["-lab-*", "env-*"]\n  gitback:\n    enabled: ["env-*"]\n  puddle:\n    enabled: ["env-*"]\n',
    agentSwarm: { catchup_interval_s: TICK_S, announce_interval_s: ANNOUNCE_S, rescan_s: 1, listen: `:${PEER_PORT}` },
  });
  const pk = new Map<string, string>();
  let demo = '';
  let secret = '';
  const work = (): string => join(fleet().user('a').u.home, 'demo');
  const clone = (host: string): string => join(fleet().user(host).u.home, 'demo');

  async function invite(handle: string, pid: string, host: string): Promise<void> {
    const f = fleet();
    const inv = ok(await f.user('a').vigo(['swarm', 'gitback', 'project', 'invite', handle, '--puddle', `ed25519:${pk.get(host) as string}`, '--role', 'member']), `invite ${host} to ${handle}`);
    ok(await f.user(host).vigo(['swarm', 'gitback', 'project', 'join', pid], { input: inv.stdout }), `${host} joins ${handle}`);
  }

  test('a push on A reaches B, C and D, and each clones it', { timeout: 180_000 }, async () => {
    const f = fleet();
    for (const [h, k] of await f.puddles()) pk.set(h, k);
    const alice = f.user('a');
    demo = (await f.found('a', work(), 'demo')).pid;
    await Promise.all(MEMBERS.map((h) => invite('demo', demo, h)));

    // a swarm-wide project lands on every gitback-enabled envoy, members or not
    await until('the founding commit on B, C and D', () => MEMBERS.every((h) => same(f.refs(h, demo), f.refs('a', demo))), () => f.logs(), 60_000);

    const tip = await commit(alice, work(), 'one.txt', 'first change');
    const push = ok(await alice.git(['push', '-o', 'replicas=3', 'swarm', 'main'], { cwd: work() }), 'push');
    assert.match(push.stderr, /gitback: replicated to 3 of 3 peers/);
    for (const h of MEMBERS) {
      assert.equal(f.refs(h, demo)['refs/heads/main'], tip, `${h}'s bare repo holds the pushed tip`);
      const sh = f.user(h);
      ok(await sh.git(['clone', '-q', `gitback://${demo}/demo`, clone(h)]), `${h} clones`);
      assert.equal(ok(await sh.git(['rev-parse', 'HEAD'], { cwd: clone(h) }), 'rev-parse').stdout.trim(), tip);
      assert.equal(ok(await sh.git(['log', '-1', '--format=%s'], { cwd: clone(h) }), 'log').stdout.trim(), 'first change');
    }
    assert.equal(existsSync(f.bareRepo('x', demo)), false, 'the excluded envoy holds nothing');
  });

  test('D killed mid-push converges after its restart, with no new push', { timeout: 180_000 }, async () => {
    const f = fleet();
    const alice = f.user('a');
    const tip = await commit(alice, work(), 'two.txt', 'second change');
    // D stops answering (SIGSTOP: the fan-out's connection to it is accepted, then hangs),
    // the push runs, and D is killed while A's send to it is still in flight
    const dAgent = f.envoy('d').agent;
    assert.ok(dAgent?.pid);
    process.kill(dAgent.pid, 'SIGSTOP');
    const push = ok(await alice.git(['push', 'swarm', 'main'], { cwd: work() }), 'push with D stopped');
    await f.stopAgent('d', 'SIGKILL');
    // of 3, or of 2 when D's announces had already expired at A (3 announce intervals)
    const report = /gitback: replicated to (\d) of (\d) peers?/.exec(push.stderr);
    assert.ok(report, push.stderr);
    assert.ok(Number(report[1]) <= 2 && Number(report[2]) >= 2, `D cannot have acknowledged: ${report[0]}`);
    await until('B and C hold the tip', () => ['b', 'c'].every((h) => f.refs(h, demo)['refs/heads/main'] === tip), () => f.logs());
    assert.notEqual(f.refs('d', demo)['refs/heads/main'], tip, 'D was down for the push');

    const restarted = Date.now();
    f.startAgent('d');
    await until('D converges after its restart', () => same(f.refs('d', demo), f.refs('a', demo)), () => f.log('d'), 90_000);
    const took = (Date.now() - restarted) / 1000;
    console.log(`D converged ${took.toFixed(1)} s after its restart (${(took / TICK_S).toFixed(1)} catch-up ticks of ${TICK_S} s, agent start included)`);
    assert.equal(f.refs('a', demo)['refs/heads/main'], tip, 'no push moved A meanwhile');
    const dave = f.user('d');
    ok(await dave.git(['pull', '-q', '--ff-only'], { cwd: clone('d') }), 'dave pulls');
    assert.equal(ok(await dave.git(['rev-parse', 'HEAD'], { cwd: clone('d') }), 'rev-parse').stdout.trim(), tip);
  });

  test('a members-only project reaches only member envoys, and a non-member refuses its bundle', { timeout: 180_000 }, async () => {
    const f = fleet();
    const alice = f.user('a');
    const dir = join(alice.u.home, 'secret');
    secret = (await f.found('a', dir, 'secret', ['--scope', 'members-only'])).pid;
    await invite('secret', secret, 'b');
    // B holds nothing of it yet, so it announces nothing of it: its member pulls it (DR catch-up)
    await until('B holds secret', () => same(f.refs('b', secret), f.refs('a', secret)), () => f.log('b'), 60_000);
    // and says so: A's announce cache (what `puddle unlock` reads) lists B for it
    await until("A hears B announce secret", () => announced(f, 'a', secret).includes(f.envoy('b').addr), () => f.log('a'), 30_000);
    const tip = await commit(alice, dir, 'plan.txt', 'the plan');
    const push = ok(await alice.git(['push', '-o', 'replicas=1', 'swarm', 'main'], { cwd: dir }), 'push secret');
    assert.match(push.stderr, /gitback: replicated to 1 of 1 peer$/m);
    assert.equal(f.refs('b', secret)['refs/heads/main'], tip);
    // two more rounds: nothing reaches C or D, which hold no member of it
    await new Promise((r) => setTimeout(r, 2 * TICK_S * 1000 + 500));
    for (const h of ['c', 'd', 'x']) assert.equal(existsSync(f.bareRepo(h, secret)), false, `${h} holds no bare repo of a members-only project it has no member of`);

    // C is handed A's own push of it over mTLS, as A's fan-out would send it: refused, nothing kept
    const c = f.envoy('c');
    const r = await probe(f, 'a', ['resend', f.envoy('a').root, secret, c.addr, String(PEER_PORT), c.envoyId]);
    assert.equal(r.status, 409, JSON.stringify(r));
    assert.match(JSON.stringify(r.body), /E_NOT_MEMBER/);
    assert.equal(existsSync(f.bareRepo('c', secret)), false);
    await until("C's log names the refusal and the sender", () => new RegExp(`refused a push of ${secret} from envoy ${f.envoy('a').envoyId}: E_NOT_MEMBER`).test(f.log('c')), () => f.log('c'), 10_000);
  });

  test('a new member envoy with state but no bare repo catches up within two ticks', { timeout: 180_000 }, async () => {
    const f = fleet();
    await invite('secret', secret, 'c');
    const joined = Date.now();
    await until('C holds secret', () => same(f.refs('c', secret), f.refs('a', secret)), () => f.log('c'), 60_000);
    const took = (Date.now() - joined) / 1000;
    console.log(`C caught up ${took.toFixed(1)} s after Carol joined (${(took / TICK_S).toFixed(1)} ticks of ${TICK_S} s)`);
    // two ticks, plus one reactor sweep for the agent to see the new member (loose: a loaded machine)
    assert.ok(took <= 2 * TICK_S + 10, `caught up in ${took} s`);
    const carol = f.user('c');
    const dir = join(carol.u.home, 'secret');
    ok(await carol.git(['clone', '-q', `gitback://${secret}/secret`, dir]), 'carol clones secret');
    assert.equal(ok(await carol.git(['log', '-1', '--format=%s'], { cwd: dir }), 'log').stdout.trim(), 'the plan');
    assert.equal(existsSync(f.bareRepo('d', secret)), false, 'D still holds none of it');
  });

  test('an envoy whose hostname the swarm patterns exclude neither announces nor accepts anything', { timeout: 120_000 }, async () => {
    const f = fleet();
    const x = f.envoy('x');
    // four announce intervals of the group, heard from vigosrv's host (no announcer of its own
    // there), while A tries to hand lab-x its own push of demo over mTLS
    const [listened, r] = await Promise.all([
      probe(f, 'srv', ['listen', GROUP, String(GROUP_PORT), String(4 * ANNOUNCE_S * 1000)]),
      probe(f, 'a', ['resend', f.envoy('a').root, demo, x.addr, String(PEER_PORT), x.envoyId]),
    ]);
    const from = new Set((listened.heard as Array<{ from: string }>).map((d) => d.from));
    for (const h of ALL) assert.ok(from.has(f.envoy(h).addr), `${h} announces (heard: ${[...from].join(', ')})`);
    assert.equal(from.has(x.addr), false, 'lab-x sent no announce');
    // nothing listens on its peer port: the push cannot even be offered
    assert.match(String(r.error), /ECONNREFUSED/, JSON.stringify(r));
    assert.equal(existsSync(f.bareRepo('x', demo)), false);
    // the assignment the server sent it says why, naming the pattern and where it is configured
    const assignment = readFileSync(join(x.root, 'var/lib/vigo/swarm/assignment.json'), 'utf8');
    assert.match(assignment, /-lab-\*/);
    assert.match(assignment, /swarm\.enabled/);
  });

  test('partition {A} | {B,C,D}, pushes on both sides to different branches, heal: all four converge', { timeout: 240_000 }, async () => {
    const f = fleet();
    const alice = f.user('a');
    const bob = f.user('b');
    f.bed.partition([['a'], ['b', 'c', 'd', 'srv']]);
    ok(await alice.git(['checkout', '-q', '-b', 'from-a'], { cwd: work() }), 'branch from-a');
    const tipA = await commit(alice, work(), 'a.txt', 'made on A during the partition');
    ok(await alice.git(['push', '-q', 'swarm', 'from-a'], { cwd: work() }), 'push from-a on A');
    ok(await bob.git(['pull', '-q', '--ff-only'], { cwd: clone('b') }), 'bob pulls');
    ok(await bob.git(['checkout', '-q', '-b', 'from-b'], { cwd: clone('b') }), 'branch from-b');
    const tipB = await commit(bob, clone('b'), 'b.txt', 'made on B during the partition');
    ok(await bob.git(['push', '-q', 'origin', 'from-b'], { cwd: clone('b') }), 'push from-b on B');
    // each side spreads its own branch
    await until('C and D hold from-b', () => ['c', 'd'].every((h) => f.refs(h, demo)['refs/heads/from-b'] === tipB), () => f.logs());
    assert.equal(f.refs('a', demo)['refs/heads/from-b'], undefined, 'A cannot have from-b yet');
    for (const h of MEMBERS) assert.equal(f.refs(h, demo)['refs/heads/from-a'], undefined, `${h} cannot have from-a yet`);

    const healed = Date.now();
    f.bed.heal();
    await until('all four hold the same refs', () => ALL.every((h) => same(f.refs(h, demo), f.refs('a', demo))) && f.refs('a', demo)['refs/heads/from-b'] === tipB, () => f.logs(), 120_000);
    const took = (Date.now() - healed) / 1000;
    console.log(`all four converged ${took.toFixed(1)} s after the heal (${(took / TICK_S).toFixed(1)} ticks of ${TICK_S} s)`);
    for (const h of ALL) {
      const refs = f.refs(h, demo);
      assert.equal(refs['refs/heads/from-a'], tipA, `${h}: from-a`);
      assert.equal(refs['refs/heads/from-b'], tipB, `${h}: from-b`);
    }
    const ls = ok(await f.user('d').git(['ls-remote', `gitback://${demo}/demo`]), 'dave ls-remote').stdout;
    assert.match(ls, new RegExp(`^${tipA}\trefs/heads/from-a$`, 'm'));
    assert.match(ls, new RegExp(`^${tipB}\trefs/heads/from-b$`, 'm'));
  });
});
