// The envoy-level swarm gate, end to end with a real vigosrv and a real `vigo agent run`:
// the operator lists the envoy's hostname in server.yaml's swarm.enabled and
// swarm.gitback.enabled, and the envoy's swarm peer server comes up (mTLS, it answers a
// fleet peer); the operator takes the hostname out and restarts vigosrv, and the peer
// server goes away (connection refused) while the agent keeps running; the gitback verbs,
// the puddle verbs and the helper daemon then refuse, naming the gate, the pattern and
// where it is configured. Before its first check-in the envoy has no assignment at all and
// says so.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Fleet, freePort, waitFor, type Proc } from '../server/harness.js';
import { pathWithProgram } from '../helpers/program.js';
import { run } from '../gitback/proc.js';
import { swarmCall, type SwarmIdentity } from '../../src/swarm/index.js';

const fleet = new Fleet();
after(() => fleet.cleanup());

const PID = 'ab'.repeat(32);
const open = 'swarm:\n  enabled: ["*"]\n  gitback:\n    enabled: ["web-*"]\n  puddle:\n    enabled: ["web-*"]\n';
const closed = 'swarm:\n  enabled: ["*"]\n  gitback:\n    enabled: ["-web-3", "web-*"]\n  puddle:\n    enabled: ["db-*"]\n';
const base = 'checkin:\n  interval: 1s\ndatabase:\n  flush_interval_ms: 200\n';

/** true when something accepts TCP connections on 127.0.0.1:port */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.setTimeout(5000, () => (s.destroy(), resolve(false)));
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

function identityOf(root: string): SwarmIdentity {
  const d = join(root, 'etc', 'vigo-envoy');
  return { cert: readFileSync(join(d, 'envoy.crt'), 'utf8'), key: readFileSync(join(d, 'envoy.key'), 'utf8'), ca: readFileSync(join(d, 'ca.crt'), 'utf8') };
}

function vigoAsRoot(root: string, args: string[]): { status: number | null; out: string } {
  const home = join(root, 'root-home');
  mkdirSync(home, { recursive: true });
  const r = fleet.cli('vigo.js', args, { VIGO_ROOT: root, HOME: home });
  return { status: r.status, out: r.stdout + r.stderr };
}

test('the swarm peer server runs only while server.yaml enables gitback for the envoy, and every door refuses once it does not', { timeout: 300_000 }, async () => {
  await fleet.startServer(base + open);
  const id = await fleet.enroll('web-3');
  const root = fleet.envoyRoot('web-3');
  const assignment = join(root, 'var', 'lib', 'vigo', 'swarm', 'assignment.json');

  // enrolled, never checked in: no assignment, and the verbs say that (not a gate verdict)
  const early = vigoAsRoot(root, ['swarm', 'gitback', 'project', 'init', 'demo']);
  assert.notEqual(early.status, 0);
  assert.match(early.out, /has no swarm assignment yet/);
  assert.match(early.out, /vigo agent run/);

  const swarmPort = await freePort();
  const announcePort = await freePort();
  const agent: Proc = fleet.startAgent(
    'web-3',
    `checkin:\n  interval_s: 1\n  timeout_s: 2\nswarm:\n  listen: "127.0.0.1:${swarmPort}"\n  announce_port: ${announcePort}\n  announce_interval_s: 1\n`,
  );

  // enabled: the agent keeps the assignment (world-readable) and the peer server answers a fleet peer over mTLS
  await waitFor('the peer server to come up', () => listening(swarmPort), 60_000, 200);
  const kept = JSON.parse(readFileSync(assignment, 'utf8')) as { hostname: string; gates: Record<string, { allowed: boolean; pattern: string | null }> };
  assert.equal(kept.hostname, 'web-3');
  assert.deepEqual(kept.gates.gitback, { allowed: true, pattern: 'web-*', setting: 'server.yaml swarm.gitback.enabled' });
  assert.equal(statSync(assignment).mode & 0o777, 0o644);
  const reply = await swarmCall({ identity: identityOf(root), host: '127.0.0.1', port: swarmPort, expectEnvoyId: id, method: 'GET', path: `/swarm/gitback/bundle/${PID}`, deadlineMs: 30_000 });
  assert.equal(reply.peerEnvoyId, id, 'the peer server presents the envoy enrollment certificate');
  assert.ok(reply.error !== null, `a project it does not hold is refused as JSON: ${reply.status}`);
  assert.match(agent.out(), /swarm: peer server listening on 127\.0\.0\.1:\d+ as envoy /);

  // the gates let the verbs and the daemon through (they fail further on, for their own reasons)
  const initOpen = vigoAsRoot(root, ['swarm', 'gitback', 'project', 'init', 'demo']);
  assert.doesNotMatch(initOpen.out, /E_SWARM_GATE|not enabled on this envoy/);
  const env = { ...process.env, VIGO_ROOT: root, HOME: join(root, 'root-home'), PATH: pathWithProgram() };
  const lsOpen = await run('git', ['ls-remote', `gitback://${PID}/demo`], { env, timeoutMs: 60_000 });
  assert.notEqual(lsOpen.status, 0);
  assert.doesNotMatch(lsOpen.stderr, /not enabled on this envoy/);

  // the operator takes web-3 out of swarm.gitback.enabled and restarts vigosrv
  await fleet.stopServer();
  await fleet.startServer(base + closed);
  await waitFor('the peer server to go away', async () => !(await listening(swarmPort)), 90_000, 200);
  assert.equal(agent.child.exitCode, null, 'the agent keeps running');
  assert.match(agent.out(), /swarm: peer server and announcer stopped \(gitback is no longer enabled for this envoy\)/);
  await assert.rejects(
    swarmCall({ identity: identityOf(root), host: '127.0.0.1', port: swarmPort, expectEnvoyId: id, method: 'GET', path: `/swarm/gitback/bundle/${PID}`, deadlineMs: 10_000 }),
    /ECONNREFUSED|refused/i,
  );

  // the verbs refuse, root included: which gate, which pattern, where it is configured
  const init = vigoAsRoot(root, ['swarm', 'gitback', 'project', 'init', 'demo']);
  assert.notEqual(init.status, 0);
  assert.match(init.out, /gitback is not enabled on this envoy \(web-3\): server\.yaml swarm\.gitback\.enabled denies web-3 with pattern "-web-3"/);
  assert.match(init.out, /ask the operator/);
  const puddle = vigoAsRoot(root, ['swarm', 'puddle', 'init']);
  assert.notEqual(puddle.status, 0);
  assert.match(puddle.out, /puddle is not enabled on this envoy \(web-3\): server\.yaml swarm\.puddle\.enabled has no pattern matching web-3/);
  // the local-only verbs still show what the envoy holds
  assert.equal(vigoAsRoot(root, ['swarm', 'puddle', 'status']).status, 0);
  assert.equal(vigoAsRoot(root, ['swarm', 'gitback', 'project', 'list']).status, 0);

  // plain git through the helper daemon: refused per connection, with the same words
  const ls = await run('git', ['ls-remote', `gitback://${PID}/demo`], { env, timeoutMs: 60_000 });
  assert.notEqual(ls.status, 0);
  assert.match(ls.stderr, /gitback is not enabled on this envoy \(web-3\): server\.yaml swarm\.gitback\.enabled denies web-3 with pattern "-web-3"/);

  // and back on: the peer server returns without an agent restart
  await fleet.stopServer();
  await fleet.startServer(base + open);
  await waitFor('the peer server to come back', () => listening(swarmPort), 90_000, 200);
  assert.equal(agent.child.exitCode, null);
});
