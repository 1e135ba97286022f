// Bad input is refused clearly and loses nothing: a bad server.yaml, wrong / reused /
// foreign enrollment tokens, an expired admin token, a viewer writing, an oversized body,
// malformed YAML in the stacks (nothing half-published).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Fleet, bin } from '../server/harness.js';

const fleet = new Fleet();
before(() => fleet.startServer('checkin:\n  interval: 1s\n'));
after(() => fleet.cleanup());

test('a bad server.yaml stops vigosrv naming the file, the field and why', () => {
  const file = join(fleet.dir, 'bad.yaml');
  writeFileSync(file, 'server:\n  api_listen: "not an address"\nspanner:\n  mode: hub\n');
  const r = spawnSync(process.execPath, [bin('vigosrv.js'), '--config', file], { env: { ...process.env, VIGO_ROOT: join(fleet.dir, 'never') }, encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`error: ${file.replace(/[.]/g, '\\.')}: server\\.api_listen: must be HOST:PORT`));
  assert.match(r.stderr, /spanner\.spanner_id: required when mode is hub/);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/); // no stack trace
  assert.equal(existsSync(join(fleet.dir, 'never')), false, 'nothing was created');
});

test('enrollment refuses unknown, reused and foreign tokens, writing nothing', async () => {
  const root = fleet.envoyRoot('web-bad');
  const enroll = (token: string) => fleet.cli('vigo.js', ['agent', 'enroll', '--server', fleet.restUrl, '--token', token, '--hostname', 'web-bad'], { VIGO_ROOT: root });
  const { token } = await fleet.api<{ token: string }>('POST', '/api/v1/enroll/tokens', {});
  const unknown = token.replace(/^vget_(.)/, (_m, c: string) => `vget_${c === 'A' ? 'B' : 'A'}`);
  let r = enroll(unknown);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /error: enrollment refused: enrollment token not recognized/);
  assert.match(r.stderr, /hint: .*vigocli enroll token create/);
  assert.equal(existsSync(join(root, 'etc', 'vigo-envoy', 'identity.json')), false);

  const foreign = token.replace(/\.[0-9a-f]{32}$/, '.' + '0'.repeat(32));
  r = enroll(foreign);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not the CA this token was minted under/);

  r = enroll(token);
  assert.equal(r.status, 0, r.stderr);
  r = fleet.cli('vigo.js', ['agent', 'enroll', '--server', fleet.restUrl, '--token', token, '--hostname', 'web-bad2'], { VIGO_ROOT: fleet.envoyRoot('web-bad2') });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /already used/);
  const list = await fleet.api<{ envoys: { hostname: string }[] }>('GET', '/api/v1/envoys');
  assert.deepEqual(list.envoys.map((e) => e.hostname).filter((h) => h.startsWith('web-bad')), ['web-bad']);
});

test('an expired admin token and a viewer writing are refused', async () => {
  const exp = await fleet.api<{ token: string }>('POST', '/api/v1/auth/tokens', { name: 'short', role: 'admin', expires_in_s: 1 });
  await new Promise((r) => setTimeout(r, 2100));
  const env = { VIGO_SERVER: fleet.restUrl, VIGO_TOKEN: exp.token, VIGO_CA_FILE: join(fleet.dataDir, 'tls', 'ca.crt') };
  let r = fleet.cli('vigocli.js', ['envoys', 'list'], env);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /error: GET \/api\/v1\/envoys: API token expired at/);
  assert.match(r.stderr, /hint: log in again/);

  const viewer = await fleet.api<{ token: string }>('POST', '/api/v1/auth/tokens', { name: 'ro', role: 'viewer' });
  const venv = { ...env, VIGO_TOKEN: viewer.token };
  r = fleet.cli('vigocli.js', ['envoys', 'list', '--json'], venv);
  assert.equal(r.status, 0, r.stderr);
  r = fleet.cli('vigocli.js', ['config', 'publish'], venv);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /role 'viewer' may not POST \/api\/v1\/config\/publish \(needs admin\)/);
  const raw = await fleet.apiRaw<{ message: string }>('POST', '/api/v1/enroll/tokens', {}, { ...fleet.admin, token: viewer.token });
  assert.equal(raw.status, 403);
  const comp = await fleet.api<{ token: string }>('POST', '/api/v1/auth/tokens', { name: 'auditor', role: 'compliance' });
  const asComp = { ...fleet.admin, token: comp.token };
  assert.equal((await fleet.apiRaw('GET', '/api/v1/compliance', undefined, asComp)).status, 200);
  assert.equal((await fleet.apiRaw('GET', '/metrics', undefined, asComp)).status, 403);
  const metrics = await fleet.apiRaw<string>('GET', '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.body, /^vigosrv_envoys\{status="no-data"\} \d+$/m);
  assert.match(metrics.body, /^vigosrv_checkins_nochange_total \d+$/m);
  const anon = await fleet.apiRaw<{ message: string }>('GET', '/api/v1/status', undefined, { ...fleet.admin, token: '' });
  assert.equal(anon.status, 401);
  assert.match(anon.body.message, /authentication required/);
});

test('an oversized body and an unknown field are refused with a message', async () => {
  const big = await fleet.apiRaw<{ message: string }>('POST', '/api/v1/auth/tokens', { name: 'x'.repeat(2 * 1024 * 1024), role: 'viewer' });
  assert.equal(big.status, 413);
  assert.match(big.body.message, /request body too large \(limit 1048576 bytes/);
  const odd = await fleet.apiRaw<{ message: string }>('POST', '/api/v1/auth/tokens', { name: 'x', role: 'viewer', admin: true });
  assert.equal(odd.status, 400);
  assert.match(odd.body.message, /invalid request: .*additional properties/);
});

test('malformed YAML in the stacks is refused with file and line; .live/ keeps the last whole version', async () => {
  fleet.writeStacks({ motd: 'name: motd\nresources:\n  - type: file\n    path: /etc/motd\n    content: "v1\\n"\n' }, 'envoys:\n  - match: "*"\n    configcrates: [motd]\n');
  let r = fleet.cli('vigocli.js', ['config', 'publish', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const v1 = (JSON.parse(r.stdout) as { version: number }).version;
  const live = join(fleet.dataDir, '.live');
  const liveBefore = readFileSync(join(live, 'configcrates', 'motd.vgo'), 'utf8');

  const bad = join(fleet.stacksDir, 'configcrates', 'motd.vgo');
  writeFileSync(bad, 'name: motd\nresources:\n  - type: file\n    path: /etc/motd\n    content: "v2\n  bad: [unclosed\n');
  r = fleet.cli('vigocli.js', ['config', 'validate']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`${bad.replace(/[.]/g, '\\.')}:\\d+: `));
  r = fleet.cli('vigocli.js', ['config', 'publish']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /stacks are invalid; nothing was published/);
  assert.match(r.stderr, new RegExp(`${bad.replace(/[.]/g, '\\.')}:\\d+: `));
  assert.equal(readFileSync(join(live, 'configcrates', 'motd.vgo'), 'utf8'), liveBefore);
  assert.equal((await fleet.api<{ version: number }>('GET', '/api/v1/config/version')).version, v1);
  assert.deepEqual(readdirSync(join(fleet.dataDir, '.live.d')).length, 1, 'no half-made version left behind');
});

test('auth login pins the CA, refuses a wrong fingerprint, and logout forgets', async () => {
  const viewer = await fleet.api<{ token: string }>('POST', '/api/v1/auth/tokens', { name: 'alice', role: 'viewer' });
  const home = { HOME: join(fleet.dir, 'alice'), VIGO_ROOT: join(fleet.dir, 'elsewhere') };
  let r = fleet.cli('vigocli.js', ['auth', 'status'], home);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not logged in/);
  r = fleet.cli('vigocli.js', ['auth', 'login', '--server', fleet.restUrl, '--token', viewer.token, '--ca-fingerprint', 'ab'.repeat(32)], home);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not the expected/);
  r = fleet.cli('vigocli.js', ['auth', 'login', '--server', fleet.restUrl, '--token', viewer.token], home);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /trusting the server's CA on first use: sha256 [0-9a-f]{64}/);
  assert.match(r.stdout, /as alice \(viewer\)/);
  r = fleet.cli('vigocli.js', ['auth', 'status', '--json'], home);
  assert.equal(r.status, 0, r.stderr);
  const { logins, ...inUse } = JSON.parse(r.stdout) as { logins: { server: string; default: boolean }[] };
  assert.deepEqual(inUse, { server: fleet.restUrl, source: 'login', name: 'alice', role: 'viewer', expires_at: null });
  assert.deepEqual(logins.map((l) => [l.server, l.default]), [[fleet.restUrl, true]]);
  r = fleet.cli('vigocli.js', ['auth', 'login', '--server', fleet.restUrl, '--token', 'vgot_nope', '--ca', join(fleet.dataDir, 'tls', 'ca.crt')], { HOME: join(fleet.dir, 'bob') });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown API token/);
  assert.match(fleet.cli('vigocli.js', ['auth', 'logout'], home).stdout, /Logged out/);
  assert.notEqual(fleet.cli('vigocli.js', ['auth', 'status'], home).status, 0);
});
