// Issue 5's end-to-end story: one vigosrv and three envoy processes, each with its own
// VIGO_ROOT. Enroll, publish a file-writing configcrate, converge; hand edits are put back
// and the envoy moves through relapsed and diverged; a forced check-in arrives through the
// stream within a second; an envoy that stops checking in goes offline; compliance on the
// REST API matches; a revoked envoy is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, waitFor, type EnvoyJson, type RunJson } from '../server/harness.js';

const MOTD = `name: motd
vars:
  greeting: hello
resources:
  - type: file
    path: /etc/motd
    content: "{{ .Vars.greeting }} {{ .Envoy.hostname }}\\n"
    mode: "0644"
`;
// dan's usercrate: the user resource with the puddle and gitback grants
const DAN = `name: dan
resources:
  - type: user
    name: dan
    puddle: true
    gitback: true
`;
const ENVOYS = `envoys:
  - match: "web-*"
    configcrates: [motd]
    usercrates: [dan]
`;

const fleet = new Fleet();
after(() => fleet.cleanup());

async function envoy(name: string): Promise<EnvoyJson> {
  return (await fleet.api<{ envoy: EnvoyJson }>('GET', `/api/v1/envoys/${name}`)).envoy;
}
async function lastRun(name: string): Promise<RunJson | undefined> {
  return (await fleet.api<{ runs: RunJson[] }>('GET', `/api/v1/runs?envoy=${name}&limit=1`)).runs[0];
}

test('three envoys enroll, converge, drift, get pushed, go offline; compliance matches', async () => {
  await fleet.startServer('checkin:\n  interval: 2s\ndatabase:\n  flush_interval_ms: 200\n');
  fleet.writeStacks({ motd: MOTD }, ENVOYS, { dan: DAN });
  const names = ['web-01', 'web-02', 'web-03'];
  for (const n of names) await fleet.enroll(n);
  const before = await fleet.api<{ envoys: EnvoyJson[] }>('GET', '/api/v1/envoys');
  assert.deepEqual(before.envoys.map((e) => [e.hostname, e.status]), names.map((n) => [n, 'no-data']));

  const web01 = fleet.startAgent('web-01');
  const web02 = fleet.startAgent('web-02');
  // web-03 checks in on its own only once an hour: any quick check-in is the push's doing.
  const web03 = fleet.startAgent('web-03', 'checkin:\n  interval_s: 3600\n  timeout_s: 2\n');
  await waitFor('three connected envoys', async () => (await fleet.api<{ envoys: EnvoyJson[] }>('GET', '/api/v1/envoys')).envoys.every((e) => e.connected));

  const pub = fleet.cli('vigocli.js', ['config', 'publish', '--json']);
  assert.equal(pub.status, 0, pub.stderr);
  const version = (JSON.parse(pub.stdout) as { version: number }).version;
  assert.equal(version, 1);
  assert.equal((await fleet.api<{ version: number }>('GET', '/api/v1/config/version')).version, 1);

  for (const n of names) {
    const motd = join(fleet.envoyRoot(n), 'etc', 'motd');
    await waitFor(`${n} writes /etc/motd`, () => existsSync(motd) && readFileSync(motd, 'utf8') === `hello ${n}\n`);
    const e = await waitFor(`${n} reports a run`, async () => {
      const x = await envoy(n);
      return x.policy_version === 1 && x.last_run_status !== null && x;
    });
    assert.equal(e.status, 'converged');
    // the gate the gitback verbs read, written from the user resource under the envoy's root
    const policy = JSON.parse(readFileSync(join(fleet.envoyRoot(n), 'var', 'lib', 'vigo', 'usercrate-policy', 'dan.json'), 'utf8')) as { gitback: boolean; puddle: boolean };
    assert.deepEqual([policy.puddle, policy.gitback], [true, true]);
  }

  // A forced check-in through the stream arrives within a second.
  const seenBefore = (await envoy('web-03')).last_seen;
  const t0 = Date.now();
  await fleet.api('POST', '/api/v1/envoys/web-03/push');
  const seen = await waitFor('web-03 checks in after the push', async () => {
    const x = await envoy('web-03');
    return x.last_seen !== seenBefore && x.last_seen;
  }, 5000, 10);
  const elapsed = Date.parse(seen) - t0;
  assert.ok(elapsed < 1000, `forced check-in took ${elapsed} ms`);

  // Hand edits on web-01 are put back; the streak of changed runs drives the status.
  const motd1 = join(fleet.envoyRoot('web-01'), 'etc', 'motd');
  await waitFor('a clean run on web-01', async () => (await lastRun('web-01'))?.status === 'ok');
  const expected = ['converged', 'relapsed', 'diverged'];
  for (const want of expected) {
    const editedAt = new Date().toISOString();
    writeFileSync(motd1, 'edited by hand\n');
    await waitFor('a run that puts the file back', async () => {
      const r = await lastRun('web-01');
      return r && r.started_at > editedAt && r.status === 'changed';
    }, 10_000, 20);
    assert.equal(readFileSync(motd1, 'utf8'), 'hello web-01\n');
    assert.equal((await envoy('web-01')).status, want);
  }

  // web-03 stops checking in (killed): offline after 2 × the interval.
  await fleet.stopProc(web03, 'SIGKILL');
  await waitFor('web-03 offline', async () => (await envoy('web-03')).status === 'offline', 10_000);

  // Compliance on the REST API matches what the envoys are. web-01 is stopped first so its
  // status holds still between the two reads (it is not offline for another 4 s).
  await fleet.stopProc(web01);
  const list = (await fleet.api<{ envoys: EnvoyJson[] }>('GET', '/api/v1/envoys')).envoys;
  const converged = list.filter((e) => e.status === 'converged').length;
  const c = await fleet.api<{ active: number; compliance_pct: number; counts: Record<string, number> }>('GET', '/api/v1/compliance');
  assert.equal(c.active, 3);
  assert.equal(c.counts.converged, converged);
  assert.equal(c.compliance_pct, Math.round((converged / 3) * 10000) / 100);
  assert.deepEqual(
    Object.fromEntries(list.map((e) => [e.hostname, e.status])),
    { 'web-01': (await envoy('web-01')).status, 'web-02': 'converged', 'web-03': 'offline' },
  );
  const st = fleet.cli('vigocli.js', ['server', 'status', '--json']);
  assert.equal(st.status, 0, st.stderr);
  assert.equal((JSON.parse(st.stdout) as { compliance_pct: number }).compliance_pct, c.compliance_pct);

  // While the server is away the envoys keep converging from their cached bundle, and the
  // runs they made meanwhile are delivered when it is back.
  await fleet.stopServer();
  const downAt = new Date().toISOString();
  const motd2 = join(fleet.envoyRoot('web-02'), 'etc', 'motd');
  writeFileSync(motd2, 'edited while the server is down\n');
  await waitFor('web-02 puts the file back without its server', () => readFileSync(motd2, 'utf8') === 'hello web-02\n', 10_000);
  await fleet.startServer('checkin:\n  interval: 2s\ndatabase:\n  flush_interval_ms: 200\n');
  const upAt = new Date().toISOString();
  await waitFor('the runs made offline arrive', async () => {
    const runs = (await fleet.api<{ runs: RunJson[] }>('GET', '/api/v1/runs?envoy=web-02&limit=50')).runs;
    return runs.some((r) => r.started_at > downAt && r.started_at < upAt && r.status === 'changed');
  });

  // A revoked envoy's check-ins are refused: no run of its is stored after the revocation.
  const rv = fleet.cli('vigocli.js', ['envoys', 'revoke', 'web-02']);
  assert.equal(rv.status, 0, rv.stderr);
  const revokedAt = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 2500));
  const runs = (await fleet.api<{ runs: RunJson[] }>('GET', '/api/v1/runs?envoy=web-02&limit=5')).runs;
  assert.ok(runs.every((r) => r.started_at < revokedAt), 'a revoked envoy reported a run');
  await waitFor('web-02 logs the refusal', () => /the server refuses this envoy \(envoy [0-9a-f-]+ is revoked\)/.test(web02.out()));
  const e2 = await envoy('web-02');
  assert.equal(e2.status, 'revoked');
  assert.equal(e2.connected, false);
  const after = await fleet.api<{ active: number }>('GET', '/api/v1/compliance');
  assert.equal(after.active, 2);
});
