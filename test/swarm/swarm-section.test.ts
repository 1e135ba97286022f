// agent.yaml `swarm.reconcile_interval_s` as an operator writes it: the default is the
// page's 5 minutes, a value is taken in seconds, and a bad one is refused naming the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSwarmSection } from '../../src/swarm/index.js';

const file = '/etc/vigo-envoy/agent.yaml';

test('swarm.reconcile_interval_s defaults to 300 s, takes seconds, and a bad value is refused naming the file and key', () => {
  assert.equal(parseSwarmSection({ file, sections: {} }).reconcile_interval_s, 300);
  assert.equal(parseSwarmSection({ file, sections: { swarm: { reconcile_interval_s: 4 } } }).reconcile_interval_s, 4);
  for (const bad of [0, -1, '5m', 86_401]) {
    assert.throws(() => parseSwarmSection({ file, sections: { swarm: { reconcile_interval_s: bad } } }), /\/etc\/vigo-envoy\/agent\.yaml: swarm\.reconcile_interval_s: /, String(bad));
  }
});
