// server.yaml: defaults, every section validated, errors name the file and the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDuration, parseServerYaml, loadServerConfig } from '../../src/server/config.js';
import { isVigoError } from '../../src/platform/errors.js';

function refusal(text: string): string {
  try {
    parseServerYaml(text, '/etc/server.yaml');
  } catch (e) {
    assert.ok(isVigoError(e));
    return e.message;
  }
  assert.fail('accepted');
}

test('an empty file means the documented defaults', () => {
  const c = parseServerYaml('', 'server.yaml');
  assert.equal(c.server.api_listen, ':8443');
  assert.equal(c.server.grpc_listen, ':1530');
  assert.equal(c.checkin.interval, '5m');
  assert.equal(c.secrets.unlock_window_h, 24);
  assert.equal(c.spanner.mode, 'standalone');
});

test('paths follow VIGO_ROOT', () => {
  const c = loadServerConfig('/nonexistent/server.yaml', { VIGO_ROOT: '/tmp/r' });
  assert.equal(c.file, null);
  assert.equal(c.stacksDir, '/tmp/r/srv/vigo/stacks');
  assert.equal(c.liveDir, '/tmp/r/srv/vigo/.live');
  assert.equal(c.secretsDir, '/tmp/r/srv/vigo/secrets');
  assert.deepEqual(c.tls, {
    cert: '/tmp/r/srv/vigo/tls/server.crt',
    key: '/tmp/r/srv/vigo/tls/server.key',
    ca: '/tmp/r/srv/vigo/tls/ca.crt',
    caKey: '/tmp/r/srv/vigo/tls/ca.key',
    sans: '/tmp/r/srv/vigo/tls/server.sans.json',
  });
  assert.equal(c.checkinIntervalMs, 300_000);
});

test('a server.yaml written with the reference keys loads as written', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigo-cfg-'));
  try {
    const file = join(dir, 'server.yaml');
    writeFileSync(
      file,
      [
        'server:',
        '  api_listen: ":9443"',
        '  grpc_listen: "10.0.0.5:1530"',
        '  hostname: vigo.example.com',
        '  tls_sans: [vigo.internal, 10.0.0.5]',
        '  tls:',
        '    cert_file: /etc/vigo/tls/server.pem',
        '    key_file: /etc/vigo/tls/server-key.pem',
        '    ca_file: /etc/vigo/tls/ca.pem',
        '    ca_key_file: /etc/vigo/tls/ca-key.pem',
        'checkin:',
        '  interval: "1h30m"',
        '',
      ].join('\n'),
    );
    const c = loadServerConfig(file, { VIGO_ROOT: '/tmp/r' });
    assert.equal(c.server.api_listen, ':9443');
    assert.equal(c.server.grpc_listen, '10.0.0.5:1530');
    assert.equal(c.server.hostname, 'vigo.example.com');
    assert.deepEqual(c.server.tls_sans, ['vigo.internal', '10.0.0.5']);
    assert.deepEqual(c.tls, { cert: '/etc/vigo/tls/server.pem', key: '/etc/vigo/tls/server-key.pem', ca: '/etc/vigo/tls/ca.pem', caKey: '/etc/vigo/tls/ca-key.pem', sans: '/etc/vigo/tls/server.sans.json' });
    assert.equal(c.checkinIntervalMs, 90 * 60_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('checkin.interval reads Go-style durations', () => {
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('15s'), 15_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('250ms'), 250);
  for (const bad of ['', '5', '5 m', 'm', '-5s', '5d', '1h 30m', '5mm']) assert.equal(parseDuration(bad), null, bad);
  assert.equal(loadServerConfig('/nonexistent', {}).checkinIntervalMs, 300_000);
});

test('a bad checkin.interval is refused naming the field and how to write one', () => {
  assert.match(refusal('checkin:\n  interval: 60\n'), /^\/etc\/server\.yaml: checkin\.interval: must be a duration string like "5m", "15s" or "1h30m" \(a bare number has no unit\)$/);
  assert.match(refusal('checkin:\n  interval: "5 minutes"\n'), /^\/etc\/server\.yaml: checkin\.interval: "5 minutes" is not a duration: write a number and a unit \(ms, s, m, h\)/);
  assert.match(refusal('checkin:\n  interval: "500ms"\n'), /checkin\.interval: must be at least 1s/);
  assert.match(refusal('checkin:\n  interval: "25h"\n'), /checkin\.interval: must be at most 24h/);
});

test('old spellings are refused naming the one key there is', () => {
  assert.equal(refusal('listen: ":8443"\n'), '/etc/server.yaml: `listen` is not a key; use `server.api_listen`');
  assert.equal(refusal('server:\n  rest_listen: 127.0.0.1:8443\n'), '/etc/server.yaml: `server.rest_listen` is not a key; use `server.api_listen`');
  assert.equal(refusal('server:\n  listen: 127.0.0.1:8443\n'), '/etc/server.yaml: `server.listen` is not a key; use `server.api_listen`');
  assert.equal(refusal('checkin:\n  interval_s: 60\n'), '/etc/server.yaml: `checkin.interval_s` is not a key; use `checkin.interval` (a duration, e.g. "60s" or "5m")');
  assert.equal(refusal('server:\n  tls:\n    cert: /x.pem\n'), '/etc/server.yaml: `server.tls.cert` is not a key; use `server.tls.cert_file`');
  assert.equal(refusal('tls:\n  cert_file: /x.pem\n'), '/etc/server.yaml: `tls` is not a key; use `server.tls`');
  // every one at once, one line each
  assert.equal(refusal('server:\n  rest_listen: ":1"\ncheckin:\n  interval_s: 1\n').split('\n').length, 2);
});

test('a bare :PORT listens everywhere; addresses others dial need a host', () => {
  assert.equal(parseServerYaml('server:\n  api_listen: ":0"\n  grpc_listen: "[::1]:1530"\n', 'server.yaml').server.api_listen, ':0');
  assert.match(refusal('server:\n  grpc_advertise: ":1530"\n'), /server\.grpc_advertise: must be HOST:PORT \(a host to dial/);
  assert.match(refusal('spanner:\n  mode: spoke\n  spanner_id: s\n  bolt_id: b\n  hub_addr: ":8443"\n'), /spanner\.hub_addr: must be HOST:PORT \(a host to dial/);
});

test('a full spanner section parses', () => {
  const c = parseServerYaml(
    'spanner:\n  mode: hub\n  spanner_id: sp1\n  bolt_id: b1\n  peer_listen: 127.0.0.2:8444\n  patterns: ["web-*"]\n  bolts:\n    - id: b2\n      addr: 127.0.0.3:8443\n      patterns: ["db-*"]\n',
    'server.yaml',
  );
  assert.equal(c.spanner.bolts[0]?.id, 'b2');
  assert.deepEqual(c.spanner.patterns, ['web-*']);
});

test('bad fields are refused naming file, field and why', () => {
  assert.match(refusal('server:\n  api_listen: 8443\n'), /^\/etc\/server\.yaml: server\.api_listen: /);
  assert.match(refusal('server:\n  api_listen: "8443"\n'), /server\.api_listen: must be HOST:PORT or :PORT for all addresses/);
  assert.match(refusal('server:\n  tls:\n    cert_file: ""\n'), /server\.tls\.cert_file: /);
  assert.match(refusal('server:\n  grpc_listen: "h:70000"\n'), /server\.grpc_listen: port must be 0–65535/);
  assert.match(refusal('servr: {}\n'), /\(top level\): .*servr/);
  assert.match(refusal('database:\n  flush_batch: "many"\n'), /database\.flush_batch: /);
  assert.match(refusal('spanner:\n  mode: spoke\n  spanner_id: s\n  bolt_id: b\n'), /spanner\.hub_addr: required when mode is spoke/);
  assert.match(refusal('spanner:\n  mode: mesh\n'), /spanner\.mode: /);
  assert.match(refusal('spanner:\n  bolts:\n    - {id: a, addr: "h:1"}\n    - {id: a, addr: "h:2"}\n'), /spanner\.bolts\[1\]\.id: duplicate bolt id 'a'/);
  assert.match(refusal('server: [\n'), /not valid YAML/);
});
