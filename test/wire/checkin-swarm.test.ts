// The check-in protocol's swarm assignment, frozen by test/vectors/checkin-swarm.json: the
// server's bytes for each server.yaml, what the agent reads from them, and that an agent
// from before the field ignores the message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkoutRoot } from '../helpers/program.js';
import { assignmentOfMsg, swarmAssignmentMsg, type SwarmAssignmentMsg } from '../../src/wire/checkin.js';
import { resolveSwarmAssignment } from '../../src/server/index.js';
import { loadCheckinSwarmVectors, serverMessageType } from './checkin-vectors.js';

const vectors = loadCheckinSwarmVectors();

test('each server.yaml resolves to the frozen assignment and encodes to the frozen bytes', () => {
  assert.ok(vectors.valid.length >= 3);
  const type = serverMessageType();
  for (const v of vectors.valid) {
    const a = resolveSwarmAssignment(v.assignment.hostname, v.server_yaml_swarm as Parameters<typeof resolveSwarmAssignment>[1]);
    assert.deepEqual(a, v.assignment, v.name);
    const hex = Buffer.from(type.encode(type.fromObject({ seq: 0, swarm: swarmAssignmentMsg(a) })).finish()).toString('hex');
    assert.equal(hex, v.hex, v.name);
  }
});

test('the agent reads the assignment back from the bytes', () => {
  const type = serverMessageType();
  for (const v of vectors.valid) {
    const m = type.toObject(type.decode(Buffer.from(v.hex, 'hex')), { defaults: true, oneofs: true }) as { kind?: string; swarm: SwarmAssignmentMsg };
    assert.equal(m.kind, 'swarm', v.name);
    assert.deepEqual(assignmentOfMsg(m.swarm), v.assignment, v.name);
  }
});

test('an agent from before the field decodes the message as one with no kind, and ignores it', () => {
  const old = serverMessageType(true);
  for (const v of vectors.valid) {
    const m = old.toObject(old.decode(Buffer.from(v.hex, 'hex')), { defaults: true, oneofs: true }) as Record<string, unknown>;
    assert.equal(m.kind, undefined, v.name);
    assert.equal(m.seq, 0, `${v.name}: seq 0 matches no request of the agent`);
  }
});

test('a message whose gate is missing or malformed is refused, naming the field', () => {
  const good = vectors.valid[0]!.message.swarm!;
  assert.throws(() => assignmentOfMsg({ ...good, gitback: null }), /gates\.gitback must be an object/);
  assert.throws(() => assignmentOfMsg({ ...good, hostname: '' }), /hostname/);
  assert.throws(() => assignmentOfMsg({ ...good, puddle: { allowed: true, pattern: '', setting: '' } }), /gates\.puddle\.setting/);
});

test('wire-formats.md shows the worked example byte for byte', () => {
  const wire = readFileSync(join(checkoutRoot, 'docs', 'wire-formats.md'), 'utf8');
  const section = wire.slice(wire.indexOf('## 17. Check-in: the swarm assignment'));
  assert.ok(section.length > 100, 'wire-formats.md has the section');
  const v = vectors.valid.find((x) => section.includes(`"${x.name}"`));
  assert.ok(v, 'the example names its vector');
  assert.ok(section.includes(v.hex), 'the hex');
  assert.ok(section.includes(JSON.stringify(v.message)), 'the message');
  for (const p of (v.server_yaml_swarm as { gitback: { enabled: string[] } }).gitback.enabled) assert.ok(section.includes(`"${p}"`), p);
});
