// Issue 12 items 5–6 end to end: ADR-023 auto-adoption at `puddle unlock` and `puddle leave`,
// with one vigosrv and two envoys (A, B) in the netns bed, each a real `vigo agent run`.
// One person's puddle on both envoys: Alice's puddle files are copied as root into Bob's
// home (B's local user), simulating an earlier `puddle pair` (built elsewhere). What an
// operator checks: what unlock and leave print, the files in the user's home, the bare
// repos' refs, that git still works on A.
//
// The tests run in order and build on each other (one bed for the file).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, copyFileSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, toHex } from '../../src/trust/index.js';
import { netnsUnavailable } from '../helpers/netns.js';
import { userSupport } from '../helpers/users.js';
import { commitAs, ok, until, useSwarmFleet, type SwarmFleet } from './swarm-fleet.js';

const skip = netnsUnavailable() ?? userSupport();
const TICK_S = 2;
const ANNOUNCE_S = 2;
const GOSSIP_TIMERS_S = 3600;

const commit = commitAs;

function same(a: Record<string, string>, b: Record<string, string>): boolean {
  return JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
}

type AnnouncedEntry = { project_id: string; handle: string | null; dr_scope: string | null; hosts: string[] };

/** The entries an envoy's gitback-announced.json lists for a project (one per announced handle). */
function announcedEntries(f: SwarmFleet, host: string, pid: string): AnnouncedEntry[] {
  const file = join(f.envoy(host).root, 'var/lib/vigo/swarm/gitback/gitback-announced.json');
  if (!existsSync(file)) return [];
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { v: number; projects: AnnouncedEntry[] };
  return doc.projects.filter((p) => p.project_id === pid);
}

/** The entry with a handle an envoy's gitback-announced.json lists for a project, or null. */
function announcedEntry(f: SwarmFleet, host: string, pid: string): AnnouncedEntry | null {
  return announcedEntries(f, host, pid).find((p) => p.handle !== null) ?? null;
}

describe('auto-adoption at unlock and puddle leave across two envoys (netns bed)', { skip: skip ?? false }, () => {
  const fleet = useSwarmFleet({
    envoys: [
      { host: 'a', hostname: 'env-a', user: 'alice' },
      { host: 'b', hostname: 'env-b', user: 'bob' },
    ],
    serverSwarm: '  enabled: ["env-*"]\n  gitback:\n    enabled: ["env-*"]\n  puddle:\n    enabled: ["env-*"]\n',
    // envelope gossip's own timers (digest reconciliation, store poll) far beyond the test:
    // a revoke that reaches B in time was sent by the reactor sweep's poke
    agentSwarm: { catchup_interval_s: TICK_S, announce_interval_s: ANNOUNCE_S, rescan_s: 1, reconcile_interval_s: GOSSIP_TIMERS_S, envelope_poll_s: GOSSIP_TIMERS_S },
  });
  let pid = '';
  const work = (): string => join(fleet().user('a').u.home, 'dr');

  test('the founder pushes on A; leave on the only envoy of the puddle refuses without --yes-last-copy', { timeout: 180_000 }, async () => {
    const f = fleet();
    const alice = f.user('a');
    ok(await alice.vigo(['swarm', 'puddle', 'init']), 'alice: puddle init');
    ok(await alice.vigo(['swarm', 'puddle', 'unlock', '--watch-pid', String(process.pid)]), 'alice: puddle unlock');
    ok(await alice.git(['init', '-q', '-b', 'main', work()]), 'git init');
    await commit(alice, work(), 'README', 'founded on A');
    const init = ok(await alice.vigo(['swarm', 'gitback', 'project', 'init', 'dr', '--scope', 'members-only'], { cwd: work() }), 'project init dr');
    pid = /gitback:\/\/([0-9a-f]{64})\/dr/.exec(init.stdout)?.[1] ?? '';
    assert.ok(pid, init.stdout);
    assert.ok(f.refs('a', pid)['refs/heads/main'], 'A holds the pushed repo');

    const r = await alice.vigo(['swarm', 'puddle', 'leave', '--yes']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /nothing shows another envoy holding this puddle/);
    assert.match(r.stderr, /--yes-last-copy/);
    for (const fl of ['identity.wrapped', 'identity.salt', 'identity.pub']) assert.ok(existsSync(join(alice.u.home, '.vigo-puddle', fl)), `${fl} is still there`);
    assert.ok(existsSync(join(alice.u.home, '.vigo-gitback', pid, 'project.json')), 'the project state is still there');
  });

  test('on B, unlock of the same puddle adopts the founded project and DR catch-up brings its refs', { timeout: 180_000 }, async () => {
    const f = fleet();
    const alice = f.user('a');
    const bob = f.user('b');
    // as root: Alice's wrapped identity becomes Bob's, as a pairing would have written it
    const from = join(alice.u.home, '.vigo-puddle');
    const to = join(bob.u.home, '.vigo-puddle');
    rmSync(to, { recursive: true, force: true });
    mkdirSync(to, { mode: 0o700 });
    chownSync(to, bob.u.uid, bob.u.gid);
    for (const [fl, mode] of [['identity.wrapped', 0o600], ['identity.salt', 0o600], ['identity.pub', 0o644]] as const) {
      copyFileSync(join(from, fl), join(to, fl));
      chownSync(join(to, fl), bob.u.uid, bob.u.gid);
      chmodSync(join(to, fl), mode);
    }
    // B hears A announce dr (members-only, with its handle) and writes it to its cache
    await until("B's gitback-announced.json lists dr from A", () => announcedEntry(f, 'b', pid)?.hosts.includes(f.envoy('a').addr), () => f.log('b'), 60_000);
    assert.deepEqual({ ...announcedEntry(f, 'b', pid), hosts: [] }, { project_id: pid, handle: 'dr', founder: null, dr_scope: 'members-only', hosts: [] });
    // before A's rescan reads project.json its replica goes out on the 2-field line: never a made-up handle
    assert.deepEqual(announcedEntries(f, 'b', pid).filter((e) => e.handle !== null && e.handle !== 'dr'), [], 'no other handle was announced for dr');

    const unlock = ok(await bob.vigo(['swarm', 'puddle', 'unlock', '--watch-pid', String(process.pid)]), 'bob: unlock');
    const adopted = Date.now();
    assert.match(unlock.stdout, new RegExp(`Gitback: adopted dr \\(${pid.slice(0, 12)}…, held on ${f.envoy('a').addr.replace(/\./g, '\\.')}\\); DR catch-up pulls its bytes`));
    const cfg = JSON.parse(readFileSync(join(bob.u.home, '.vigo-gitback', pid, 'project.json'), 'utf8')) as { handle: string; scope: string; role: string };
    assert.deepEqual([cfg.handle, cfg.scope, cfg.role], ['dr', 'members-only', 'admin']);
    // a second unlock adopts nothing more (already held)
    ok(await bob.vigo(['swarm', 'puddle', 'lock']), 'bob: lock');
    const again = ok(await bob.vigo(['swarm', 'puddle', 'unlock', '--watch-pid', String(process.pid)]), 'bob: unlock again');
    assert.doesNotMatch(again.stdout, /adopted/);

    await until('B holds dr with the refs A has', () => same(f.refs('b', pid), f.refs('a', pid)), () => f.logs(), 90_000);
    console.log(`B caught up ${((Date.now() - adopted) / 1000).toFixed(1)} s after the adoption (catch-up tick ${TICK_S} s)`);
    const clone = join(bob.u.home, 'dr');
    ok(await bob.git(['clone', '-q', `gitback://${pid}/dr`, clone]), 'bob clones dr on B');
    assert.equal(ok(await bob.git(['log', '-1', '--format=%s'], { cwd: clone }), 'log').stdout.trim(), 'founded on A');
  });

  test('puddle leave on B removes the puddle, the session and the gitback state there; A still works', { timeout: 180_000 }, async () => {
    const f = fleet();
    const alice = f.user('a');
    const bob = f.user('b');
    const session = JSON.parse(readFileSync(join(bob.u.home, '.vigo-puddle', 'session.unlocked'), 'utf8')) as { pid: number };
    const binding = (host: string, uid: number): string => join(f.envoy(host).root, 'var/lib/vigo/swarm/gitback/bindings', `${uid}.json`);
    assert.ok(existsSync(binding('b', bob.u.uid)), "unlock bound Bob's uid on B");
    // the typed confirmation, from stdin (not a terminal)
    const wrong = await bob.vigo(['swarm', 'puddle', 'leave'], { input: 'no\n' });
    assert.equal(wrong.status, 1, wrong.stdout + wrong.stderr);
    assert.match(wrong.stderr, /not confirmed/);
    assert.ok(existsSync(join(bob.u.home, '.vigo-puddle', 'identity.wrapped')), 'a wrong answer changes nothing');

    const r = ok(await bob.vigo(['swarm', 'puddle', 'leave', '--json'], { input: 'leave\n' }), 'bob: puddle leave');
    assert.match(r.stderr, new RegExp(`the puddle lives on on: ${f.envoy('a').addr.replace(/\./g, '\\.')}`));
    const out = JSON.parse(r.stdout.trim()) as { binding: { state: string }; last_copy: boolean; other_hosts: string[]; removed: { puddle_files: string[]; session_locked: boolean; projects: number }; projects: Array<{ handle: string; held_on: string[] }> };
    assert.equal(out.last_copy, false);
    assert.deepEqual(out.other_hosts, [f.envoy('a').addr]);
    assert.equal(out.removed.session_locked, true);
    assert.ok(['identity.pub', 'identity.salt', 'identity.wrapped'].every((x) => out.removed.puddle_files.includes(x)), out.removed.puddle_files.join(' '));
    assert.equal(out.removed.projects, 1);
    assert.equal(out.binding.state, 'removed');
    assert.equal(existsSync(binding('b', bob.u.uid)), false, "B's binding of Bob's uid is gone (the daemon's unbind)");
    assert.ok(existsSync(binding('a', alice.u.uid)), "A's binding is untouched");
    assert.deepEqual(out.projects, [{ project_id: pid, handle: 'dr', held_on: [f.envoy('a').addr] }]);
    assert.equal(existsSync(join(bob.u.home, '.vigo-puddle')), false, '~/.vigo-puddle is gone');
    assert.equal(existsSync(join(bob.u.home, '.vigo-gitback')), false, '~/.vigo-gitback is gone');
    let alive = true;
    try {
      process.kill(session.pid, 0);
    } catch {
      alive = false;
    }
    assert.equal(alive, false, 'the session helper holding the key has exited');
    const st = ok(await bob.vigo(['swarm', 'puddle', 'status', '--json']), 'bob: status');
    assert.equal((JSON.parse(st.stdout) as { initialized: boolean }).initialized, false);

    // A's copy of the puddle and of the project are untouched and work
    assert.ok(existsSync(join(alice.u.home, '.vigo-puddle', 'identity.wrapped')));
    const tip = await commit(alice, work(), 'after.txt', 'after B left');
    ok(await alice.git(['push', '-q', 'swarm', 'main'], { cwd: work() }), 'alice pushes on A after B left');
    assert.equal(f.refs('a', pid)['refs/heads/main'], tip);
    const pk = ok(await alice.vigo(['swarm', 'puddle', 'status', '--json']), 'alice: status');
    assert.equal((JSON.parse(pk.stdout) as { unlocked: boolean }).unlocked, true, "A's session is still unlocked");
  });

  test("a revoke swept on A is sent to B by the sweep's poke, with gossip's poll and reconciliation an hour away", { timeout: 120_000 }, async () => {
    const f = fleet();
    const alice = f.user('a');
    const member = toHex(generateKeyPair().publicKey);
    ok(await alice.vigo(['swarm', 'gitback', 'project', 'invite', pid, '--puddle', `ed25519:${member}`, '--role', 'member']), 'alice invites a member');
    const issued = (JSON.parse(readFileSync(join(alice.u.home, '.vigo-gitback', pid, 'project.json'), 'utf8')) as { issued: Record<string, { subject: string }> }).issued;
    const tokenId = Object.keys(issued).find((k) => issued[k]?.subject === member) as string;
    assert.ok(tokenId, JSON.stringify(issued));
    // B still holds dr's replica (Bob left; the bytes are root's), so it is a gossip peer of it
    assert.ok(existsSync(f.bareRepo('b', pid)));
    ok(await alice.vigo(['swarm', 'gitback', 'project', 'revoke', pid, '--token-id', tokenId, '--reason', 'poke test']), 'alice revokes it');
    const id = (await until("A's reactor sweeps the revoke into A's store", () => f.envelopeIds('a', pid, 'revokes')[0], () => f.log('a'), 60_000)) as string;
    const stored = Date.now();
    await until('the revoke reaches B', () => f.envelopeIds('b', pid, 'revokes').includes(id), () => f.logs(), 60_000);
    console.log(`the revoke reached B ${((Date.now() - stored) / 1000).toFixed(1)} s after A stored it (gossip timers ${GOSSIP_TIMERS_S} s)`);
  });
});
