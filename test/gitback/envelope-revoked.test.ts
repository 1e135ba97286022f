// Revoked everywhere (issue 12 item 2), the daemon side: once a revoke has been GOSSIPED to
// envoy B, B's helper daemon refuses the connection of a user whose chain contains the
// revoked token — one decision per connection, before git runs, so fetch and push alike —
// naming the token, the revocation's envelope id and its reason. The envelope store is the
// daemon's own DiskEnvelopeStore over the directory gossip wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, tokenId } from '../../src/trust/index.js';
import { DiskEnvelopeStore } from '../../src/gitback/stores/disk.js';
import { memoryStores } from '../../src/gitback/stores/memory.js';
import { loadAccessFacts, seconds } from '../../src/gitback/daemon/access.js';
import { decideAccess } from '../../src/gitback/daemon/decide.js';
import { bindingMessage, type BindingBody } from '../../src/gitback/binding.js';
import type { ProjectState } from '../../src/gitback/state.js';
import { HANDLE, NOW, pk, signer } from '../swarm/fixtures.js';
import { gossiped } from '../swarm/gossip-revoked.js';

const BOB_UID = 1002;

test("after a gossiped revoke, B's helper daemon refuses bob's fetch and push, naming the token, the revocation and its reason", async () => {
  const g = await gossiped();
  try {
    const { f } = g;
    const stores = { ...memoryStores(), envelopes: new DiskEnvelopeStore(g.env, () => {}) };
    const user = { name: 'bob', uid: BOB_UID, gid: BOB_UID, home: '/home/bob' };
    const bob = stores.users.add(user, { identity: `ed25519:${pk('bob')}\n` });
    const state: ProjectState = {
      dir: `/home/bob/.vigo-gitback/${f.pid}`,
      config: { version: 1, project_id: f.pid, handle: HANDLE, founder: f.root.subject, scope: 'swarm-wide', members: [f.root.subject, pk('alice'), pk('bob')], role: 'member', created_at: NOW - 100, cross_subnet_members: [], tombstoned_at: null, successor: null },
      chain: [f.root, f.alice, f.bob],
      delegations: [],
    };
    bob.projects.set(f.pid, state);
    const body: BindingBody = { v: 1, kind: 'uid-binding', uid: BOB_UID, pubkey: pk('bob'), challenge: '5a'.repeat(32), issued_at: NOW };
    stores.bindings.put({ v: 1, uid: BOB_UID, user: 'bob', pubkey: pk('bob'), bound_at: NOW, proof: { ...body, sig: toHex(await signer('bob').sign(bindingMessage(body))) } });
    const now = seconds(g.clock);
    // one decision per connection, before git runs: fetch and push alike
    const d = decideAccess(loadAccessFacts(stores, BOB_UID, f.pid, now), { projectId: f.pid, handle: HANDLE, ignoreTombstone: false }, now);
    assert.equal(d.allow, false, JSON.stringify(d));
    const text = d.allow ? '' : `${d.code} ${d.message}`;
    console.log(`daemon refuses bob: ${text}`);
    assert.match(text, /E_REVOKED/);
    assert.ok(text.includes(tokenId(f.bob)), 'names the revoked token');
    assert.ok(text.includes(g.revocationId), 'names the revocation');
    assert.ok(text.includes('laptop lost'), 'names the reason');
  } finally {
    g.cleanup();
  }
});

