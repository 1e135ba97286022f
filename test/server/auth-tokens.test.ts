// An operator finds a token was leaked: lists the API tokens, revokes the leaked one, and
// the very next request made with it is refused — while the secret of a token is never
// shown again after `create`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Fleet, waitFor } from './harness.js';

const fleet = new Fleet();
after(() => fleet.cleanup());

interface TokenView {
  id: string;
  name: string;
  role: string;
  status: string;
  expires_at: string | null;
}

test('list, create and revoke API tokens; a revoked token is refused at once', { timeout: 300_000 }, async () => {
  await fleet.startServer();
  let r = fleet.cli('vigocli.js', ['auth', 'token', 'create', '--name', 'ci-bot', '--role', 'viewer', '--expires', '30d', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const created = JSON.parse(r.stdout) as { token: string; id: string; role: string; expires_at: string };
  assert.match(created.token, /^vgot_/);
  assert.match(created.id, /^[0-9a-f]{16}$/);
  assert.equal(created.role, 'viewer');
  assert.ok(Math.abs(Date.parse(created.expires_at) - (Date.now() + 30 * 86400_000)) < 600_000);

  r = fleet.cli('vigocli.js', ['auth', 'token', 'create', '--name', 'leaky', '--role', 'admin']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /never expires/);
  const leaked = /^(vgot_\S+)$/m.exec(r.stdout)?.[1] ?? '';
  assert.notEqual(leaked, '');
  const leakedTarget = { ...fleet.admin, token: leaked };

  // the leaked admin token works, from another vigocli through the environment
  const env = { VIGO_SERVER: fleet.restUrl, VIGO_TOKEN: leaked, VIGO_CA_FILE: join(fleet.dataDir, 'tls', 'ca.crt') };
  assert.equal(fleet.cli('vigocli.js', ['envoys', 'list'], env).status, 0);

  // list: every token with id, name, role, status — never a secret
  r = fleet.cli('vigocli.js', ['auth', 'token', 'list', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const tokens = (JSON.parse(r.stdout) as { tokens: TokenView[] }).tokens;
  assert.deepEqual(tokens.map((t) => t.name).sort(), ['ci-bot', 'leaky', 'local-admin']);
  assert.ok(tokens.every((t) => t.status === 'active'));
  assert.doesNotMatch(r.stdout, /vgot_/);
  assert.doesNotMatch(r.stdout, new RegExp(created.token.slice(5, 20)));
  const table = fleet.cli('vigocli.js', ['auth', 'token', 'list']).stdout;
  assert.match(table, /^ID\s+NAME\s+ROLE\s+STATUS/);
  assert.doesNotMatch(table, /vgot_/);
  const leakyId = tokens.find((t) => t.name === 'leaky')?.id ?? '';

  // a viewer may not list tokens
  const asViewer = await fleet.apiRaw<{ message: string }>('GET', '/api/v1/auth/tokens', undefined, { ...fleet.admin, token: created.token });
  assert.equal(asViewer.status, 403);

  // revoke: the very next request with that token gets 401
  r = fleet.cli('vigocli.js', ['auth', 'token', 'revoke', leakyId]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`Revoked API token ${leakyId} \\(leaky, admin\\)`));
  const next = await fleet.apiRaw<{ message: string }>('GET', '/api/v1/envoys', undefined, leakedTarget);
  assert.equal(next.status, 401);
  assert.match(next.body.message, /API token revoked/);
  const cli = fleet.cli('vigocli.js', ['envoys', 'list'], env);
  assert.notEqual(cli.status, 0);
  assert.match(cli.stderr, /API token revoked/);

  const list = (JSON.parse(fleet.cli('vigocli.js', ['auth', 'token', 'list', '--json']).stdout) as { tokens: TokenView[] }).tokens;
  assert.equal(list.find((t) => t.id === leakyId)?.status, 'revoked');
  assert.match(fleet.cli('vigocli.js', ['auth', 'token', 'revoke', leakyId]).stdout, /was already revoked/);
  r = fleet.cli('vigocli.js', ['auth', 'token', 'revoke', '0123456789abcdef']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /no API token with id 0123456789abcdef/);

  // the server log names who created and revoked what, never the token
  const out = await waitFor('the revoke in the server log', () => {
    const o = fleet.srv?.out() ?? '';
    return o.includes(`revoked API token ${leakyId} (leaky) by local-admin`) && o;
  });
  assert.ok(!out.includes(leaked) && !out.includes(created.token), 'no token in the server log');
});
