// Issue 14 "What it must show", end to end: one vigosrv and three envoys on two subnets of
// the netns bed, routed (A on 10.77.0.0/24 with vigosrv; B and C on 10.78.0.0/24), each a
// real `vigo agent run` with one real user and a real puddle. Multicast does not cross the
// router and no project lists a cross_subnet_members entry: the server's peer hints are what
// joins the subnets. What an operator checks: `vigocli swarm gitback show`, the envoys' bare
// repos, and `git clone` with a friendly URL on another envoy.
//
// The tests run in order and build on each other (one bed for the file).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { netnsUnavailable } from '../helpers/netns.js';
import { userSupport } from '../helpers/users.js';
import { parsePeerHints, parseNameMap, type NameMap } from '../../src/wire/swarm-fleet.js';
import { hintEntries } from '../../src/swarm/index.js';
import type { ProjectDetail } from '../../src/cli/vigocli/swarm/fleet.js';
import { commitAs as commit, ok, until, useSwarmFleet, type SwarmFleet } from './swarm-fleet.js';

const skip = netnsUnavailable() ?? userSupport();

const TICK_S = 2;
const ANNOUNCE_S = 2;
const HOSTS = ['a', 'b', 'c'];
const NAME = 'teamweb';

function fleetFile(f: SwarmFleet, host: string, name: string): string {
  return join(f.envoy(host).root, 'var/lib/vigo/swarm', name);
}
function nameMapOn(f: SwarmFleet, host: string): NameMap | null {
  const file = fleetFile(f, host, 'name-map.json');
  if (!existsSync(file)) return null;
  try {
    return parseNameMap(readFileSync(file));
  } catch {
    return null;
  }
}

async function show(f: SwarmFleet, handle: string): Promise<ProjectDetail> {
  return JSON.parse(ok(await f.vigocli(['swarm', 'gitback', 'show', handle, '--json']), 'vigocli swarm gitback show').stdout) as ProjectDetail;
}

describe('the fleet view of the swarm across two routed subnets (1 vigosrv, 3 envoys, netns bed)', { skip: skip ?? false }, () => {
  const fleet = useSwarmFleet({
    envoys: [
      { host: 'a', hostname: 'env-a', user: 'alice' },
      { host: 'b', hostname: 'env-b', user: 'bob', subnet: 2 },
      { host: 'c', hostname: 'env-c', user: 'carol', subnet: 2 },
    ],
    serverSwarm: '  enabled: ["env-*"]\n  gitback:\n    enabled: ["env-*"]\n  puddle:\n    enabled: ["env-*"]\n',
    agentSwarm: { catchup_interval_s: TICK_S, announce_interval_s: ANNOUNCE_S, rescan_s: 1, listen: ':1531' },
  });
  let demo = '';
  const work = (): string => join(fleet().user('a').u.home, 'demo');
  const logs = (): string => `${fleet().logs()}\n--- vigosrv ---\n${fleet().srvLog().slice(-4000)}`;

  test('a project founded on subnet 1 replicates to subnet 2 with no cross_subnet_members entry', { timeout: 240_000 }, async () => {
    const f = fleet();
    assert.equal(f.bed.host('b').subnet, 2);
    assert.match(f.envoy('b').addr, /^10\.78\.0\./);
    const pk = await f.puddles();
    const alice = f.user('a');
    const init = await f.found('a', work(), 'demo');
    demo = init.pid;
    assert.match(init.stdout, /Published\. Verify replication with `vigocli swarm gitback show demo`\./, 'the page\'s closing hint');
    const pj = JSON.parse(readFileSync(join(alice.u.home, '.vigo-gitback', demo, 'project.json'), 'utf8')) as { cross_subnet_members: string[] };
    assert.deepEqual(pj.cross_subnet_members, [], 'no hand-edited config');
    const inv = ok(await alice.vigo(['swarm', 'gitback', 'project', 'invite', 'demo', '--puddle', `ed25519:${pk.get('b') as string}`, '--role', 'member']), 'invite bob');
    ok(await f.user('b').vigo(['swarm', 'gitback', 'project', 'join', demo], { input: inv.stdout }), 'bob joins');
    await until('B (subnet 2) holds demo', () => JSON.stringify(f.refs('b', demo)) === JSON.stringify(f.refs('a', demo)) && Object.keys(f.refs('a', demo)).length > 0, logs, 120_000);
    // the hints are what carried it: B's name A at A's address (as the swarm layer reads them)
    const hintsB = parsePeerHints(readFileSync(fleetFile(f, 'b', 'peer-hints.json')));
    assert.ok(hintEntries(hintsB)[demo]?.some((h) => h.envoyId === f.envoy('a').envoyId && h.host === f.envoy('a').addr), JSON.stringify(hintsB));
    // as the server stores and hints it: a plain IPv4 address, not the dual-stack ::ffff: spelling
    assert.deepEqual(hintsB.projects[demo]?.filter((h) => h.envoy_id === f.envoy('a').envoyId).map((h) => h.addr), [f.envoy('a').addr], JSON.stringify(hintsB));
  });

  test('vigocli swarm gitback show lists every host holding the project, with matching tips after a push', { timeout: 240_000 }, async () => {
    const f = fleet();
    const tip = await commit(f.user('a'), work(), 'one.txt', 'first change');
    ok(await f.user('a').git(['push', '-q', 'swarm', 'main'], { cwd: work() }), 'push');
    // swarm-wide: C (subnet 2, not a member) gets it from B over its own LAN
    await until('every envoy holds the pushed tip', () => HOSTS.every((h) => f.refs(h, demo)['refs/heads/main'] === tip), logs, 120_000);
    let last: ProjectDetail | null = null;
    // each host's traits reach the view with its next check-in after its repo moved: wait for all three
    const d = await until('the view shows A, B and C on the tip, nothing divergent', async () => {
      const v = (last = await show(f, 'demo'));
      return v.hosts.length >= 3 && v.divergent_refs.length === 0 && v.hosts.every((h) => h.refs['refs/heads/main'] === tip) ? v : null;
    }, () => `${JSON.stringify(last, null, 1)}\n${logs()}`, 120_000);
    // every host holding it, C's replica too (C holds it for no local user)
    assert.deepEqual(d.hosts.map((h) => h.hostname).sort(), ['env-a', 'env-b', 'env-c'], `hosts holding demo: ${HOSTS.filter((h) => existsSync(f.bareRepo(h, demo))).join(', ')}; the view lists ${d.hosts.map((h) => h.hostname).join(', ')}`);
    assert.equal(d.refs.find((r) => r.ref === 'refs/heads/main')?.tip, tip);
    const text = ok(await f.vigocli(['swarm', 'gitback', 'show', 'demo']), 'show').stdout;
    assert.match(text, new RegExp(`URL: +gitback://${demo}/demo`));
    assert.match(text, new RegExp(`refs/heads/main +${tip.slice(0, 12)} +${d.hosts.length}/${d.hosts.length} +in sync`));
    for (const h of d.hosts.map((x) => x.hostname)) assert.match(text, new RegExp(`^${h} .* reporting .* match$`, 'm'), text);
    const status = JSON.parse(ok(await f.vigocli(['swarm', 'gitback', 'status', '--json']), 'status').stdout) as { projects: number; hosts: number; divergent: unknown[] };
    assert.deepEqual([status.projects, status.hosts, status.divergent], [1, d.hosts.length, []]);
  });

  test('after a partitioned push the divergent ref shows, and it clears after the heal', { timeout: 300_000 }, async () => {
    const f = fleet();
    // the router goes with group 0: vigosrv and A keep talking, subnet 2 is cut off from both
    f.bed.partition([['srv', 'a'], ['b', 'c']]);
    const tip = await commit(f.user('a'), work(), 'two.txt', 'pushed during the partition');
    ok(await f.user('a').git(['push', '-q', 'swarm', 'main'], { cwd: work() }), 'push during the partition');
    const split = await until('the view shows refs/heads/main divergent', async () => {
      const v = await show(f, 'demo');
      return v.divergent_refs.includes('refs/heads/main') ? v : null;
    }, logs, 120_000);
    const row = split.refs.find((r) => r.ref === 'refs/heads/main');
    assert.equal(row?.divergent, true);
    assert.equal(row?.hosts[f.envoy('a').envoyId], tip);
    assert.notEqual(row?.hosts[f.envoy('b').envoyId], tip, 'B still reports the old tip');
    const text = ok(await f.vigocli(['swarm', 'gitback', 'status']), 'status').stdout;
    assert.match(text, /Divergent: +1 project\(s\)\n +demo \([0-9a-f]{12}…\): refs\/heads\/main/);
    const healed = Date.now();
    f.bed.heal();
    let last: ProjectDetail | null = null;
    await until('the divergence clears', async () => {
      const v = (last = await show(f, 'demo'));
      return v.divergent_refs.length === 0 && v.hosts.length >= 2 && v.hosts.every((h) => h.refs['refs/heads/main'] === tip);
    }, () => `${JSON.stringify(last, null, 1)}\n${logs()}`, 180_000);
    console.log(`the divergent ref cleared ${((Date.now() - healed) / 1000).toFixed(1)} s after the heal`);
  });

  test('a name set on A resolves in git clone gitback://<name>/demo on B after the round trip', { timeout: 240_000 }, async () => {
    const f = fleet();
    ok(await f.user('a').vigo(['swarm', 'puddle', 'name', 'set', NAME]), 'alice claims the name');
    await until(`B's fleet name map knows ${NAME}`, () => nameMapOn(f, 'b')?.names[NAME]?.status === 'ok', logs, 120_000);
    const bob = f.user('b');
    const dir = join(bob.u.home, 'demo-by-name');
    ok(await bob.git(['clone', '-q', `gitback://${NAME}/demo`, dir]), 'bob clones by name');
    assert.equal(ok(await bob.git(['log', '-1', '--format=%s'], { cwd: dir }), 'log').stdout.trim(), 'pushed during the partition');
    const d = await until('show prints the friendly URL', async () => {
      const v = await show(f, 'demo');
      return v.friendly_url !== null ? v : null;
    }, logs, 60_000);
    assert.equal(d.friendly_url, `gitback://${NAME}/demo`);
    const text = ok(await f.vigocli(['swarm', 'gitback', 'show', 'demo']), 'show').stdout;
    assert.match(text, new RegExp(`URL: +gitback://${NAME}/demo\nCanonical URL: gitback://${demo}/demo`));
  });

  test('a contested name fails on both envoys, naming its claimants', { timeout: 240_000 }, async () => {
    const f = fleet();
    ok(await f.user('c').vigo(['swarm', 'puddle', 'name', 'set', NAME]), 'carol claims the same name');
    for (const h of ['a', 'b']) await until(`${h}'s fleet name map has ${NAME} contested`, () => nameMapOn(f, h)?.names[NAME]?.status === 'contested', logs, 120_000);
    for (const h of ['a', 'b']) {
      const sh = f.user(h);
      const r = await sh.git(['clone', '-q', `gitback://${NAME}/demo`, join(sh.u.home, 'contested')]);
      assert.notEqual(r.status, 0, `${h}: a contested name must not resolve`);
      assert.match(r.stderr, new RegExp(`the puddle name '${NAME}' is contested \\(claimed by ed25519:[0-9a-f]{12}…, ed25519:[0-9a-f]{12}…\\)`), `${h}: ${r.stderr}`);
    }
    const d = await show(f, 'demo');
    assert.equal(d.friendly_url, null, 'a contested founder name gives no friendly URL');
  });
});
