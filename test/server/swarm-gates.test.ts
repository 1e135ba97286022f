// The envoy-level swarm gates an operator writes in server.yaml: first match wins, a
// leading `-` denies, no match denies, an empty list is off everywhere, and both
// swarm.enabled and swarm.<subsystem>.enabled must say yes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveGate, resolveSwarmAssignment } from '../../src/server/swarm-gates.js';
import { parseServerYaml } from '../../src/server/config.js';
import { decidingGate, gateRefusal, subsystemAllowed } from '../../src/wire/swarm-assignment.js';
import { isVigoError } from '../../src/platform/errors.js';

const S = 'server.yaml swarm.gitback.enabled';

test('a matching pattern enables, and names itself and where it is configured', () => {
  assert.deepEqual(resolveGate('web-3', ['web-*'], S), { allowed: true, pattern: 'web-*', setting: S });
});

test('a leading - denies the hosts it matches', () => {
  assert.deepEqual(resolveGate('web-3', ['-web-3', '*'], S), { allowed: false, pattern: '-web-3', setting: S });
  assert.deepEqual(resolveGate('web-4', ['-web-3', '*'], S), { allowed: true, pattern: '*', setting: S });
});

test('the first match wins, in the order written', () => {
  assert.equal(resolveGate('db-1', ['db-*', '-db-1'], S).allowed, true);
  assert.equal(resolveGate('db-1', ['-db-1', 'db-*'], S).allowed, false);
});

test('no match denies, and an empty list is off everywhere', () => {
  assert.deepEqual(resolveGate('web-3', ['db-*', '-mail-*'], S), { allowed: false, pattern: null, setting: S });
  assert.deepEqual(resolveGate('web-3', [], S), { allowed: false, pattern: null, setting: S });
  const a = resolveSwarmAssignment('web-3', {});
  for (const g of ['swarm', 'gitback', 'puddle'] as const) assert.equal(a.gates[g].allowed, false, g);
});

test('patterns are the match-block globs: case-insensitive, ? and character classes', () => {
  assert.equal(resolveGate('WEB-3.example', ['web-?.example'], S).allowed, true);
  assert.equal(resolveGate('web-7', ['web-[0-5]'], S).allowed, false);
  assert.equal(resolveGate('web-3', ['web-[0-5]'], S).allowed, true);
});

test('gitback is on only when swarm.enabled and swarm.gitback.enabled both say yes', () => {
  const both = resolveSwarmAssignment('web-3', { enabled: ['*'], gitback: { enabled: ['web-*'] } });
  assert.equal(subsystemAllowed(both, 'gitback'), true);
  assert.equal(subsystemAllowed(both, 'puddle'), false, 'no swarm.puddle.enabled: puddle stays off');
  const noSwarm = resolveSwarmAssignment('web-3', { enabled: ['-web-*', '*'], gitback: { enabled: ['*'] } });
  assert.equal(subsystemAllowed(noSwarm, 'gitback'), false);
  assert.equal(decidingGate(noSwarm, 'gitback').gate, 'swarm', 'the swarm gate is the one that said no');
  assert.equal(gateRefusal(noSwarm, 'gitback'), 'gitback is not enabled on this envoy (web-3): server.yaml swarm.enabled denies web-3 with pattern "-web-*"');
  const noGitback = resolveSwarmAssignment('web-3', { enabled: ['*'], gitback: { enabled: ['db-*'] } });
  assert.equal(gateRefusal(noGitback, 'gitback'), 'gitback is not enabled on this envoy (web-3): server.yaml swarm.gitback.enabled has no pattern matching web-3');
  assert.equal(subsystemAllowed(null, 'gitback'), false, 'no assignment: off');
});

test('server.yaml takes swarm.enabled beside swarm.gitback/puddle.enabled, and refuses a pattern that is not a glob', () => {
  const y = parseServerYaml('swarm:\n  enabled: ["*"]\n  gitback:\n    enabled: ["-web-3", "web-*"]\n', 'server.yaml');
  assert.deepEqual(y.swarm.enabled, ['*']);
  assert.deepEqual(y.swarm.gitback?.enabled, ['-web-3', 'web-*']);
  assert.deepEqual(parseServerYaml('', 'server.yaml').swarm.enabled, [], 'absent: off everywhere');
  try {
    parseServerYaml('swarm:\n  enabled: ["web-[3"]\n', '/etc/vigo/server.yaml');
    assert.fail('accepted');
  } catch (e) {
    assert.ok(isVigoError(e));
    assert.match(e.message, /\/etc\/vigo\/server\.yaml: swarm\.enabled\[0\]: "web-\[3" is not a hostname pattern/);
  }
});
