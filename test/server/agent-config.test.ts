// The check-in section of agent.yaml is validated, naming the file and the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCheckinSection, stateFingerprint } from '../../src/agent/index.js';

test('checkin section: defaults, and refusals naming the field', () => {
  assert.deepEqual(parseCheckinSection({ file: '/e/agent.yaml', sections: {} }), { timeout_s: 10, spool_max: 1000, report_max_bytes: 1048576, dead_letter_max: 50, traits: true, traits_max_age_s: 60 });
  assert.throws(() => parseCheckinSection({ file: '/e/agent.yaml', sections: { checkin: { traits: 'yes' } } }), /checkin\.traits: /);
  assert.throws(() => parseCheckinSection({ file: '/e/agent.yaml', sections: { checkin: { traits_max_age_s: 0 } } }), /checkin\.traits_max_age_s: /);
  // the report cap must leave room under the server's 8 MiB receive limit, and hold a summary
  assert.throws(() => parseCheckinSection({ file: '/e/agent.yaml', sections: { checkin: { report_max_bytes: 8 * 1024 * 1024 } } }), /checkin\.report_max_bytes: /);
  assert.throws(() => parseCheckinSection({ file: '/e/agent.yaml', sections: { checkin: { report_max_bytes: 100 } } }), /checkin\.report_max_bytes: /);
  assert.equal(parseCheckinSection({ file: '/e/agent.yaml', sections: { checkin: { interval_s: 5, grpc_addr: '127.0.0.1:1530' } } }).interval_s, 5);
  assert.throws(() => parseCheckinSection({ file: '/e/agent.yaml', sections: { checkin: { interval_s: 0 } } }), /\/e\/agent\.yaml: checkin\.interval_s: /);
  assert.throws(() => parseCheckinSection({ file: '/e/agent.yaml', sections: { checkin: { grpc_addr: 'nohost' } } }), /checkin\.grpc_addr: must be HOST:PORT/);
  assert.throws(() => parseCheckinSection({ file: '/e/agent.yaml', sections: { checkin: { intervl: 3 } } }), /checkin\.: .*intervl|Unrecognized key/);
});

test('the state fingerprint follows policy version and resource outcomes', () => {
  const r = (v: number, st: 'ok' | 'changed') => ({
    policy_version: v, started_at: '', duration_ms: 0, status: st, counts: { ok: 0, changed: 0, failed: 0 }, configcrates: 1,
    resources: [{ id: 'a:file:/x', type: 'file' as const, status: st, message: '' }],
  });
  assert.equal(stateFingerprint(r(1, 'ok')), stateFingerprint(r(1, 'ok')));
  assert.notEqual(stateFingerprint(r(1, 'ok')), stateFingerprint(r(2, 'ok')));
  assert.notEqual(stateFingerprint(r(1, 'ok')), stateFingerprint(r(1, 'changed')));
  assert.match(stateFingerprint(r(1, 'ok')), /^[0-9a-f]{32}$/);
});
