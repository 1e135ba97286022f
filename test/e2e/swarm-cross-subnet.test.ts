// project.json::cross_subnet_members end to end (the page: fan-out targets are the LAN
// announcers "and explicit hostnames listed in project.json::cross_subnet_members"): one
// vigosrv and two envoys on two routed subnets of the netns bed, each a real `vigo agent run`.
// Multicast does not cross the router and the agents report no traits, so the server sends no
// peer hints: a push reaches the other subnet only through the hand-edited list. What an
// operator checks: the agent's push report and the other envoy's bare repo.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { netnsUnavailable } from '../helpers/netns.js';
import { userSupport } from '../helpers/users.js';
import { commitAs, ok, until, useSwarmFleet } from './swarm-fleet.js';

const skip = netnsUnavailable() ?? userSupport();

describe('cross_subnet_members carries a push across a router with no announces and no hints (netns bed)', { skip: skip ?? false }, () => {
  const fleet = useSwarmFleet({
    envoys: [
      { host: 'a', hostname: 'env-a', user: 'alice' },
      { host: 'b', hostname: 'env-b', user: 'bob', subnet: 2 },
    ],
    serverSwarm: '  enabled: ["env-*"]\n  gitback:\n    enabled: ["env-*"]\n  puddle:\n    enabled: ["env-*"]\n',
    agentSwarm: { catchup_interval_s: 2, announce_interval_s: 2, rescan_s: 1, listen: ':1531' },
    agentCheckin: { traits: false },
  });

  test('a push reaches B only once the founder lists B in cross_subnet_members; the agent rescan picks the edit up', { timeout: 240_000 }, async () => {
    const f = fleet();
    const pk = await f.puddles();
    const alice = f.user('a');
    const work = join(alice.u.home, 'demo');
    const { pid } = await f.found('a', work, 'demo');
    const inv = ok(await alice.vigo(['swarm', 'gitback', 'project', 'invite', 'demo', '--puddle', `ed25519:${pk.get('b') as string}`, '--role', 'member']), 'invite bob');
    ok(await f.user('b').vigo(['swarm', 'gitback', 'project', 'join', pid], { input: inv.stdout }), 'bob joins on B');

    // nothing joins the subnets yet: the push lands on A and is sent to no peer
    const reports = (): string[] => f.log('a').split('\n').filter((l) => / replicated to \d+ of \d+ peer\(s\)/.test(l));
    const before = reports().length;
    const first = await commitAs(alice, work, 'one.txt', 'before the list');
    ok(await alice.git(['push', '-q', 'swarm', 'main'], { cwd: work }), 'push before the list');
    const report = await until("A's push report", () => reports()[before], () => f.log('a'), 30_000);
    assert.match(report, /replicated to 0 of 0 peer\(s\)/, 'no peer is known for demo');
    assert.equal(f.refs('b', pid)['refs/heads/main'], undefined, 'B holds nothing of demo');
    assert.equal(readFileSync(join(f.envoy('a').root, 'var/lib/vigo/swarm/peer-hints.json'), 'utf8').includes(pid), false, 'no server hint names demo');

    // the founder hand-edits the list (as the page says), naming B's address
    const pj = join(alice.u.home, '.vigo-gitback', pid, 'project.json');
    const cfg = JSON.parse(readFileSync(pj, 'utf8')) as Record<string, unknown>;
    writeFileSync(pj, JSON.stringify({ ...cfg, cross_subnet_members: [f.envoy('b').addr, 'not a host'] }, null, 2) + '\n');
    await until("A's agent names the entry it cannot read", () => f.log('a').includes('cross_subnet_members entry "not a host" skipped'), () => f.log('a'), 30_000);
    const second = await commitAs(alice, work, 'two.txt', 'after the list');
    assert.notEqual(second, first);
    ok(await alice.git(['push', '-q', 'swarm', 'main'], { cwd: work }), 'push after the list');
    await until('B holds the pushed tip', () => f.refs('b', pid)['refs/heads/main'] === second, () => f.logs(), 90_000);
    assert.match(f.log('a'), /replicated to 1 of 1 peer\(s\)/);
    const clone = join(f.user('b').u.home, 'demo');
    ok(await f.user('b').git(['clone', '-q', `gitback://${pid}/demo`, clone]), 'bob clones on B');
    assert.equal(ok(await f.user('b').git(['log', '-1', '--format=%s'], { cwd: clone }), 'log').stdout.trim(), 'after the list');
  });
});
