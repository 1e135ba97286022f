// The reference system's names, end to end: an operator writes server.yaml with the
// reference keys (bare :PORT listeners, a duration interval, TLS files where they want
// them) and stacks in the reference form — an envoys: list whose match block names a
// usercrate. vigosrv starts, the envoy converges, the agent writes the user's usercrate
// policy, and the gitback verbs let that user in while another user, who has no
// usercrate, is refused. Dropping the user from the match block takes the grant away.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, waitFor, type EnvoyJson, type RunJson } from '../server/harness.js';
import { createTestUser, removeTestUser, runAs, userSupport, type TestUser } from '../helpers/users.js';
import { pathWithProgram, vigoBin } from '../helpers/program.js';

const skip = userSupport();
const fleet = new Fleet();
const users: TestUser[] = [];
after(async () => {
  await fleet.cleanup();
  users.forEach(removeTestUser);
});

const MOTD = `name: motd
resources:
  - type: file
    name: message-of-the-day
    path: /etc/motd
    content: "hello {{ .Envoy.hostname }}\\n"
    mode: "0644"
`;
const usercrate = (user: string): string => `name: ${user}
resources:
  - type: user
    name: ${user}
    puddle: true
    gitback: true
`;
const envoys = (usercrates: string[]): string => `envoys:
  - match: "dev-*"
    configcrates: [motd]
    usercrates: [${usercrates.join(', ')}]
`;

async function envoy(name: string): Promise<EnvoyJson> {
  return (await fleet.api<{ envoy: EnvoyJson }>('GET', `/api/v1/envoys/${name}`)).envoy;
}

function publish(): number {
  const pub = fleet.cli('vigocli.js', ['config', 'publish', '--json']);
  assert.equal(pub.status, 0, pub.stderr + pub.stdout);
  return (JSON.parse(pub.stdout) as { version: number }).version;
}

/** `vigo swarm gitback project list` as `u` on the envoy (the gate is the first thing every verb checks). */
function gitbackList(u: TestUser, root: string): { status: number | null; out: string } {
  const r = runAs(u, process.execPath, [vigoBin, 'swarm', 'gitback', 'project', 'list'], { extraEnv: { VIGO_ROOT: root, PATH: pathWithProgram() }, timeout: 60_000 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

test('reference server.yaml and stacks: publish, converge, the usercrate policy is written, gitback lets that user in', { skip: skip ?? false, timeout: 300_000 }, async () => {
  const dan = createTestUser('ucdan');
  const eve = createTestUser('uceve');
  users.push(dan, eve);
  const tls = join(fleet.dir, 'etc-vigo-tls');
  fleet.listenHost = ''; // api_listen: ":PORT", grpc_listen: ":PORT" — every address
  await fleet.startServer(
    [
      '  tls_sans: [vigo.example.test]',
      '  tls:',
      `    cert_file: ${tls}/server.pem`,
      `    key_file: ${tls}/server-key.pem`,
      `    ca_file: ${tls}/ca.pem`,
      `    ca_key_file: ${tls}/ca-key.pem`,
      'checkin:',
      '  interval: "1s"',
      'database:',
      '  flush_interval_ms: 200',
      '',
    ].join('\n'),
  );
  // the TLS material is where server.tls put it, and the local admin login pins that CA
  for (const f of ['server.pem', 'server-key.pem', 'ca.pem', 'ca-key.pem']) assert.ok(existsSync(join(tls, f)), `${f} written under server.tls`);
  assert.equal(existsSync(join(fleet.dataDir, 'tls', 'ca.crt')), false, 'no CA in the default place');
  assert.equal((JSON.parse(readFileSync(join(fleet.dataDir, 'local-admin.json'), 'utf8')) as { ca_file: string }).ca_file, join(tls, 'ca.pem'));
  const status = await fleet.api<{ checkin_interval_s: number }>('GET', '/api/v1/status');
  assert.equal(status.checkin_interval_s, 1, 'checkin.interval "1s"');

  fleet.writeStacks({ motd: MOTD }, envoys([dan.name]), { [dan.name]: usercrate(dan.name) });
  const validate = fleet.cli('vigocli.js', ['config', 'validate']);
  assert.equal(validate.status, 0, validate.stdout + validate.stderr);

  await fleet.enroll('dev-01');
  const root = fleet.envoyRoot('dev-01');
  // other users reach the envoy's usercrate policy as they reach /var/lib/vigo on a host
  for (const d of [fleet.dir, join(fleet.dir, 'envoys'), root]) chmodSync(d, 0o755);
  for (const d of ['var', 'var/lib', 'var/lib/vigo']) mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
  fleet.startAgent('dev-01');
  await waitFor('dev-01 connected', async () => (await envoy('dev-01')).connected, 60_000);

  const v1 = publish();
  const e = await waitFor('dev-01 converges on the published stacks', async () => {
    const x = await envoy('dev-01');
    return x.policy_version === v1 && x.last_run_status !== null && x;
  }, 60_000);
  assert.equal(e.status, 'converged');
  assert.equal(readFileSync(join(root, 'etc', 'motd'), 'utf8'), 'hello dev-01\n');

  // the agent's user executor wrote dan's resolved flags; eve has no usercrate, so no file
  const policyDir = join(root, 'var', 'lib', 'vigo', 'usercrate-policy');
  const policy = JSON.parse(readFileSync(join(policyDir, `${dan.name}.json`), 'utf8')) as { puddle: boolean; gitback: boolean };
  assert.deepEqual([policy.puddle, policy.gitback], [true, true]);
  assert.equal(existsSync(join(policyDir, `${eve.name}.json`)), false);

  // the run report names the resources: the usercrate's user, and the motd file by its name
  const run = (await fleet.api<{ runs: RunJson[] }>('GET', '/api/v1/runs?envoy=dev-01&limit=1')).runs[0];
  assert.ok(run);
  const shown = await fleet.api<{ run: { report: { resources: Array<{ id: string; name?: string }> } } }>('GET', `/api/v1/runs/${run.run_id}`);
  assert.deepEqual(
    shown.run.report.resources.map((r) => [r.id, r.name]),
    [
      ['motd:file:/etc/motd', 'message-of-the-day'],
      [`usercrates/${dan.name}:user:${dan.name}`, dan.name],
    ],
  );

  // dan may use gitback on dev-01; eve is refused, told what the operator must write
  const allowed = gitbackList(dan, root);
  assert.equal(allowed.status, 0, allowed.out);
  assert.match(allowed.out, /no projects/);
  const refused = gitbackList(eve, root);
  assert.notEqual(refused.status, 0);
  assert.match(refused.out, new RegExp(`gitback is not enabled for user ${eve.name}: .*usercrate-policy/${eve.name}\\.json does not exist`));
  assert.match(refused.out, new RegExp(`usercrates/${eve.name}\\.vgo`));

  // the operator takes dan off the match block: the grant goes with the next run
  fleet.writeStacks({ motd: MOTD }, envoys([]), { [dan.name]: usercrate(dan.name) });
  const v2 = publish();
  await waitFor('dev-01 runs the new version', async () => (await envoy('dev-01')).policy_version === v2, 60_000);
  await waitFor("dan's usercrate policy removed", () => !existsSync(join(policyDir, `${dan.name}.json`)), 60_000);
  const after2 = gitbackList(dan, root);
  assert.notEqual(after2.status, 0, after2.out);
  assert.match(after2.out, /gitback is not enabled for user/);
});

test('stacks in the old form are refused at publish, saying how to write them', { timeout: 120_000 }, async () => {
  if (fleet.admin === undefined) await fleet.startServer();
  const before = (await fleet.api<{ version: number }>('GET', '/api/v1/config/version')).version;
  fleet.writeStacks({ motd: MOTD }, '- match: "*"\n  configcrates: [motd]\n');
  const pub = fleet.cli('vigocli.js', ['config', 'publish']);
  assert.equal(pub.status, 1, pub.stdout + pub.stderr);
  assert.match(pub.stdout + pub.stderr, /envoys\.vgo:1: a bare list of match blocks is not the envoys\.vgo form: put the list under an envoys: key/);
  assert.equal((await fleet.api<{ version: number }>('GET', '/api/v1/config/version')).version, before, 'nothing went live');
});
