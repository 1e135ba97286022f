// An operator shortens the unlock window in server.yaml and locks the vault by hand when
// done: unlock opens exactly secrets.unlock_window_h, each use slides it by that much, and
// `secrets lock` closes it at once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { bin } from './harness.js';

const root = mkdtempSync(join(tmpdir(), 'vigo-secrets-window-'));
after(() => rmSync(root, { recursive: true, force: true }));
const yaml = join(root, 'server.yaml');
const cli = (args: string[], env: NodeJS.ProcessEnv = {}, input?: string) =>
  spawnSync(process.execPath, [bin('vigocli.js'), 'secrets', ...args], { env: { ...process.env, VIGO_ROOT: root, VIGO_CONFIG_FILE: '', ...env }, cwd: root, encoding: 'utf8', input });
const expiresAt = () => (JSON.parse(readFileSync(join(root, 'srv', 'vigo', '.secrets-unlocked'), 'utf8')) as { expires_at: number }).expires_at;
const near = (ms: number, expected: number) => Math.abs(ms - expected) < 60_000;

test('unlock honours secrets.unlock_window_h; lock closes the window', () => {
  writeFileSync(yaml, 'secrets:\n  unlock_window_h: 2\n');
  assert.equal(cli(['init']).status, 0);

  // ./server.yaml (vigosrv's default) is read
  let r = cli(['unlock']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\(2 h, sliding/);
  assert.ok(near(expiresAt(), Date.now() + 2 * 3600_000), `window ends ${new Date(expiresAt()).toISOString()}, not in 2 h`);

  // a use slides it by the configured window, not 24 h
  assert.equal(cli(['set', 'api-key'], {}, 'k1').status, 0);
  assert.ok(near(expiresAt(), Date.now() + 2 * 3600_000));

  // lock: reveal and set are refused at once, and the hint names the configured window
  r = cli(['lock']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Secrets locked/);
  r = cli(['reveal', 'api-key']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /error: the secrets vault is locked\nhint: run `vigocli secrets unlock` \(opens a 2 h window, secrets\.unlock_window_h\)/);
  assert.equal(r.stdout, '');
  assert.match(cli(['lock']).stdout, /already locked/);
  assert.match(cli(['list']).stderr, /vault locked/);

  // --config and $VIGO_CONFIG_FILE name another server.yaml
  const other = join(root, 'other.yaml');
  writeFileSync(other, 'secrets:\n  unlock_window_h: 0.5\n');
  assert.equal(cli(['unlock', '--config', other]).status, 0);
  assert.ok(near(expiresAt(), Date.now() + 1800_000));
  assert.equal(cli(['unlock'], { VIGO_CONFIG_FILE: other }).status, 0);
  assert.ok(near(expiresAt(), Date.now() + 1800_000));
  assert.equal(cli(['reveal', 'api-key']).stdout, 'k1');

  // a bad server.yaml is named, not silently replaced by defaults
  writeFileSync(yaml, 'secrets:\n  unlock_window_h: -1\n');
  r = cli(['unlock']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /server\.yaml: secrets\.unlock_window_h: /);
});
