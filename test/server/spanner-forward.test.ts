// Which requests the forwarding hook treats as per-bolt, and which bolt owns each: every
// path under /api/v1/spanner/bolts/{id}, and POST /api/v1/spanner/reassign by its `from`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isForwardablePath, ownerOf } from '../../src/server/rest/forward-paths.js';

test('per-bolt paths and their owners', () => {
  assert.equal(ownerOf('GET', '/api/v1/spanner/bolts/bolt-b', undefined), 'bolt-b');
  assert.equal(ownerOf('GET', '/api/v1/spanner/bolts/bolt-b/runs?limit=5', undefined), 'bolt-b');
  assert.equal(ownerOf('POST', '/api/v1/spanner/bolts/bolt-b/drain', { to: 'bolt-a' }), 'bolt-b');
  assert.equal(ownerOf('GET', '/api/v1/spanner/bolts/b%2Dx/envoys', undefined), 'b-x');
  assert.equal(ownerOf('POST', '/api/v1/spanner/reassign', { envoy_id: 'e', from: 'bolt-c', to: 'bolt-a' }), 'bolt-c');
  assert.equal(ownerOf('POST', '/api/v1/spanner/reassign?x=1', { from: 'bolt-c' }), 'bolt-c');
  // reassign without a from: the handler refuses it (nothing to route)
  assert.equal(ownerOf('POST', '/api/v1/spanner/reassign', { envoy_id: 'e' }), null);
  assert.equal(ownerOf('GET', '/api/v1/spanner/bolts/%E0%A4%A', undefined), null);
  for (const p of ['/api/v1/spanner/bolts', '/api/v1/spanner/bolts/', '/api/v1/spanner/roster', '/api/v1/spanner/bolt/invite', '/api/v1/spanner/merged/envoys', '/api/v1/envoys', '/api/v1/auth/tokens']) {
    assert.equal(isForwardablePath(p), false, p);
    assert.equal(ownerOf('POST', p, { from: 'bolt-c' }), null, p);
  }
  assert.equal(isForwardablePath('/api/v1/spanner/bolts/bolt-b/push'), true);
  assert.equal(isForwardablePath('/api/v1/spanner/reassign'), true);
});
