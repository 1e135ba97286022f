// Issue 16 item 5: a bundle over 4 MiB never reached an envoy (the gRPC client kept its
// 4 MiB default while the server sent up to 8 MiB): the envoy logged "server unreachable"
// forever and the server nothing. Now both sides use one limit; a 5 MiB bundle is
// delivered to a real agent, and a publish whose bundle would exceed the limit is refused
// naming the envoys it would reach, with nothing published.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, waitFor, type EnvoyJson } from '../server/harness.js';

const fleet = new Fleet();
after(() => fleet.cleanup());

const crate = (bytes: number) => `name: big
resources:
  - type: file
    path: /etc/big.dat
    content: "${'x'.repeat(bytes)}"
    mode: "0644"
`;
const ENVOYS = `envoys:
  - match: "web-*"
    configcrates: [big]
`;

async function envoy(name: string): Promise<EnvoyJson> {
  return (await fleet.api<{ envoy: EnvoyJson }>('GET', `/api/v1/envoys/${name}`)).envoy;
}

test('a 5 MiB bundle reaches the envoy; a 9 MiB one is refused at publish naming the envoys', async () => {
  await fleet.startServer();
  await fleet.enroll('web-01');
  await fleet.enroll('web-02');
  const a1 = fleet.startAgent('web-01');
  const a2 = fleet.startAgent('web-02');
  await waitFor('both envoys connected', async () => (await fleet.api<{ envoys: EnvoyJson[] }>('GET', '/api/v1/envoys')).envoys.every((e) => e.connected), 60_000);

  fleet.writeStacks({ big: crate(5 * 1024 * 1024) }, ENVOYS);
  const pub = fleet.cli('vigocli.js', ['config', 'publish', '--json']);
  assert.equal(pub.status, 0, pub.stderr);
  const v1 = (JSON.parse(pub.stdout) as { version: number }).version;
  for (const n of ['web-01', 'web-02']) {
    const f = join(fleet.envoyRoot(n), 'etc', 'big.dat');
    await waitFor(`${n} writes the 5 MiB file`, () => existsSync(f) && statSync(f).size === 5 * 1024 * 1024, 90_000, 200);
    await waitFor(`${n} reports version ${v1}`, async () => (await envoy(n)).policy_version === v1, 60_000, 200);
  }
  // (without the aligned limit the envoy never got here: it logged "server unreachable" forever)
  assert.doesNotMatch(a1.out() + a2.out(), /exceeded the \d+-byte limit/);

  fleet.writeStacks({ big: crate(9 * 1024 * 1024) }, ENVOYS);
  const refused = fleet.cli('vigocli.js', ['config', 'publish', '--json']);
  assert.notEqual(refused.status, 0, 'the oversized publish is refused');
  assert.match(refused.stderr, /publish refused: the bundle would exceed the 8\.00 MiB check-in limit for 2 envoy\(s\): web-0[12] \(9\.00 MiB\), web-0[12] \(9\.00 MiB\); nothing was published/);
  assert.equal((await fleet.api<{ version: number }>('GET', '/api/v1/config/version')).version, v1, 'the version did not move');
  // the server's log line reaches this process through a pipe, maybe after the CLI's answer
  await waitFor('the server logs the refusal', () => /publish refused: the bundle would exceed/.test(fleet.srv?.out() ?? ''), 15_000, 100);
  // the envoys keep checking in on the version they hold
  for (const n of ['web-01', 'web-02']) {
    const seen = Date.parse((await envoy(n)).last_seen ?? '');
    await waitFor(`${n} checks in after the refused publish`, async () => Date.parse((await envoy(n)).last_seen ?? '') > seen, 30_000, 200);
    assert.equal((await envoy(n)).policy_version, v1);
  }
});
