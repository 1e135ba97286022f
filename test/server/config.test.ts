// server.yaml: defaults, every section validated, errors name the file and the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServerYaml, loadServerConfig } from '../../src/server/config.js';
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
  assert.equal(c.server.rest_listen, '0.0.0.0:8443');
  assert.equal(c.server.grpc_listen, '0.0.0.0:1530');
  assert.equal(c.checkin.interval_s, 60);
  assert.equal(c.secrets.unlock_window_h, 24);
  assert.equal(c.spanner.mode, 'standalone');
});

test('paths follow VIGO_ROOT', () => {
  const c = loadServerConfig('/nonexistent/server.yaml', { VIGO_ROOT: '/tmp/r' });
  assert.equal(c.file, null);
  assert.equal(c.stacksDir, '/tmp/r/srv/vigo/stacks');
  assert.equal(c.liveDir, '/tmp/r/srv/vigo/.live');
  assert.equal(c.secretsDir, '/tmp/r/srv/vigo/secrets');
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
  assert.match(refusal('server:\n  rest_listen: 8443\n'), /^\/etc\/server\.yaml: server\.rest_listen: /);
  assert.match(refusal('server:\n  grpc_listen: "h:70000"\n'), /server\.grpc_listen: port must be 0–65535/);
  assert.match(refusal('servr: {}\n'), /\(top level\): .*servr/);
  assert.match(refusal('checkin:\n  interval_s: -1\n'), /checkin\.interval_s: /);
  assert.match(refusal('database:\n  flush_batch: "many"\n'), /database\.flush_batch: /);
  assert.match(refusal('spanner:\n  mode: spoke\n  spanner_id: s\n  bolt_id: b\n'), /spanner\.hub_addr: required when mode is spoke/);
  assert.match(refusal('spanner:\n  mode: mesh\n'), /spanner\.mode: /);
  assert.match(refusal('spanner:\n  bolts:\n    - {id: a, addr: "h:1"}\n    - {id: a, addr: "h:2"}\n'), /spanner\.bolts\[1\]\.id: duplicate bolt id 'a'/);
  assert.match(refusal('server: [\n'), /not valid YAML/);
});
