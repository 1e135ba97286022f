// The secrets vault through vigocli: init, locked refusals, unlock window, set/reveal/list,
// tamper detection.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { bin } from './harness.js';

const root = mkdtempSync(join(tmpdir(), 'vigo-secrets-'));
after(() => rmSync(root, { recursive: true, force: true }));
const cli = (args: string[], input?: string) =>
  spawnSync(process.execPath, [bin('vigocli.js'), 'secrets', ...args], { env: { ...process.env, VIGO_ROOT: root }, encoding: 'utf8', input });

test('init, locked refusal, unlock, set from stdin, reveal, list, tamper', () => {
  let r = cli(['init']);
  assert.equal(r.status, 0, r.stderr);
  const key = join(root, 'srv', 'vigo', 'secrets', '.master.key');
  assert.equal(readFileSync(key).length, 32);
  assert.equal(statSync(key).mode & 0o777, 0o600);
  assert.match(cli(['init']).stdout, /already present/);

  r = cli(['set', 'db-password'], 's3cret');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /error: the secrets vault is locked\nhint: run `vigocli secrets unlock`/);

  r = cli(['unlock']);
  assert.equal(r.status, 0, r.stderr);
  const until = JSON.parse(readFileSync(join(root, 'srv', 'vigo', '.secrets-unlocked'), 'utf8')) as { expires_at: number };
  assert.ok(Math.abs(until.expires_at - (Date.now() + 24 * 3600_000)) < 60_000);

  assert.equal(cli(['set', 'db-password'], 's3cret').status, 0);
  const file = join(root, 'srv', 'vigo', 'secrets', 'db-password.secret');
  assert.doesNotMatch(readFileSync(file, 'utf8'), /s3cret/);
  assert.equal(cli(['reveal', 'db-password']).stdout, 's3cret');
  assert.equal(cli(['list']).stdout, 'db-password\n');
  assert.deepEqual((JSON.parse(cli(['list', '--json']).stdout) as { secrets: string[] }).secrets, ['db-password']);
  assert.match(cli(['reveal', '../etc/passwd']).stderr, /bad secret name/);

  // a file renamed onto another name does not open (the name is authenticated)
  assert.equal(cli(['set', 'other', '--value', 'x']).status, 0);
  renameSync(file, join(root, 'srv', 'vigo', 'secrets', 'other.secret'));
  r = cli(['reveal', 'other']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /cannot be decrypted/);

  // expired window
  writeFileSync(join(root, 'srv', 'vigo', '.secrets-unlocked'), JSON.stringify({ expires_at: Date.now() - 1 }));
  assert.match(cli(['reveal', 'other']).stderr, /locked/);
});
