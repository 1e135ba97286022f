// Issue 16 item 8: an envoy stuck on an old policy is not converged. Two envoys run policy
// version 1. Version 2 adds a user named after the host: on the host with a long name that
// name is over 32 characters, so its bundle does not resolve and it stays on version 1.
// It shows `stale-policy` with the server's reason and counts against compliance. Then
// the other envoy's disk refuses the cached copy of version 3 (bundle.json replaced by a
// directory): the bundle is good, so that envoy applies it from memory, names the local
// failure in its log, and converges on version 3 — it is not stuck.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, waitFor, type EnvoyJson } from '../server/harness.js';

const fleet = new Fleet();
after(() => fleet.cleanup());

interface Envoy extends EnvoyJson {
  stale_policy: { held_version: number; published_version: number; since: string; checkins: number; reason: string } | null;
}

const motd = (greeting: string) => `name: motd
resources:
  - type: file
    path: /etc/motd
    content: "${greeting} {{ .Envoy.hostname }}\\n"
`;
const SVC = `name: svc
resources:
  - type: user
    name: "svc-{{ .Envoy.hostname }}"
`;

test('envoys stuck on an old policy are stale-policy with the reason, not converged', async () => {
  await fleet.startServer('checkin:\n  interval: 1s\ndatabase:\n  flush_interval_ms: 200\n');
  const short = 'web-08';
  const long = 'web-08-rack-17-aisle-4-datacenter'; // "svc-" + this is 37 characters
  fleet.writeStacks({ motd: motd('hello') }, 'envoys:\n  - match: "web-08*"\n    configcrates: [motd]\n');
  const publish = () => {
    const r = fleet.cli('vigocli.js', ['config', 'publish', '--json']);
    assert.equal(r.status, 0, r.stderr);
    return (JSON.parse(r.stdout) as { version: number }).version;
  };
  assert.equal(publish(), 1);
  for (const n of [short, long]) await fleet.enroll(n);
  const agents = [fleet.startAgent(short), fleet.startAgent(long)];
  const envoy = async (n: string) => (await fleet.api<{ envoy: Envoy }>('GET', `/api/v1/envoys/${n}`)).envoy;
  for (const n of [short, long]) await waitFor(`${n} converged on version 1`, async () => {
    const e = await envoy(n);
    return e.policy_version === 1 && e.status === 'converged';
  }, 30_000);

  // Version 2 validates (the placeholder hostname is short) but does not resolve for `long`.
  fleet.writeStacks({ motd: motd('hello'), svc: SVC }, 'envoys:\n  - match: "web-08*"\n    configcrates: [motd, svc]\n');
  assert.equal(publish(), 2);
  await waitFor(`${short} converged on version 2`, async () => {
    const e = await envoy(short);
    return e.policy_version === 2 && e.status === 'converged';
  }, 30_000);
  const stuck = await waitFor(`${long} stale-policy`, async () => {
    const e = await envoy(long);
    return e.status === 'stale-policy' && e;
  }, 30_000);
  assert.equal(stuck.policy_version, 1);
  assert.deepEqual([stuck.stale_policy?.held_version, stuck.stale_policy?.published_version], [1, 2]);
  assert.match(stuck.stale_policy?.reason ?? '', /^the server cannot resolve its bundle: .*must be a Unix user name .*svc-web-08-rack-17-aisle-4-datacenter/);

  // It counts against compliance, under its own status.
  const c = await fleet.api<{ active: number; compliance_pct: number; counts: Record<string, number> }>('GET', '/api/v1/compliance');
  assert.equal(c.counts['stale-policy'], 1);
  assert.equal(c.counts.converged, 1);
  assert.equal(c.compliance_pct, 50);
  const listed = fleet.cli('vigocli.js', ['envoys', 'list', '--status', 'stale-policy', '--json']);
  assert.equal(listed.status, 0, listed.stderr);
  assert.deepEqual((JSON.parse(listed.stdout) as { envoys: Envoy[] }).envoys.map((e) => e.hostname), [long]);
  const shown = fleet.cli('vigocli.js', ['envoys', 'show', long]);
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /^Status: +stale-policy/m);
  assert.match(shown.stdout, /^Policy: +version 1 — stale: published version 2, still on 1 since /m);
  assert.match(shown.stdout, /^Why: +the server cannot resolve its bundle: .*must be a Unix user name/m);

  // The other envoy's disk refuses the cached copy of version 3: the bundle itself is
  // good, so the envoy applies it from memory, names the local failure, and is not stuck.
  const cached = join(fleet.envoyRoot(short), 'var', 'lib', 'vigo', 'checkin', 'bundle.json');
  rmSync(cached);
  mkdirSync(join(cached, 'in-the-way'), { recursive: true });
  fleet.writeStacks({ motd: motd('hi'), svc: SVC }, 'envoys:\n  - match: "web-08*"\n    configcrates: [motd, svc]\n');
  assert.equal(publish(), 3);
  await waitFor(`${short} converged on version 3 from memory`, async () => {
    const e = await envoy(short);
    return e.policy_version === 3 && e.status === 'converged' && e.stale_policy === null;
  }, 30_000);
  // The agent's log line and its run report travel different pipes: wait for the line.
  await waitFor(`${short}'s log names the failed cache write`, () => /received policy version 3, but caching it at .*bundle\.json failed: .*applying it from memory/.test(agents[0]?.out() ?? ''), 30_000);
  const c3 = await fleet.api<{ counts: Record<string, number>; compliance_pct: number }>('GET', '/api/v1/compliance');
  assert.deepEqual([c3.counts['stale-policy'], c3.counts.converged, c3.compliance_pct], [1, 1, 50]);
  rmSync(cached, { recursive: true });
  assert.equal((await envoy(long)).status, 'stale-policy');
  for (const a of agents) await fleet.stopProc(a);
});
