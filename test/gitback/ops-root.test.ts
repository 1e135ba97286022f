// The ops-puddle dir is one more root-owned project-state root: the envoy's gitback view
// (what it announces, catches up and fans out) lists the stacks project held under
// <srv>/ops-puddle/.vigo-gitback/<pid>/, members-only, with its chain — and nothing when
// the dir is absent or not root's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalGitbackView, saveProject, type ProjectConfig } from '../../src/gitback/index.js';
import { DiskUserDirectory, OPS_PUDDLE_ROOT_NAME } from '../../src/gitback/stores/disk.js';
import { generateKeyPair, mintBootstrapToken, mintChildToken, projectId, pubkeyHex, seedSigner } from '../../src/trust/index.js';
import { systemClock } from '../../src/platform/clock.js';

test('the stacks project under the ops-puddle dir is part of the local gitback view', { skip: process.getuid?.() !== 0 ? 'needs root (root-owned state)' : false }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'ops-root-'));
  try {
    const env = { VIGO_ROOT: root };
    const passwd = join(root, 'passwd');
    writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\n');
    const users = new DiskUserDirectory(passwd, env);
    assert.deepEqual(users.list().map((u) => u.name), ['root']);

    const ops = seedSigner(generateKeyPair().seed);
    const svc = generateKeyPair();
    const now = Math.floor(Date.now() / 1000);
    const boot = await mintBootstrapToken(ops, 'stacks', now);
    const member = await mintChildToken(ops, [boot], svc.publicKey, 'member', now, null);
    const pid = projectId(ops.publicKey, 'stacks');
    const config: ProjectConfig = { version: 1, project_id: pid, handle: 'stacks', founder: pubkeyHex(ops.publicKey), scope: 'members-only', members: [pubkeyHex(ops.publicKey), pubkeyHex(svc.publicKey)], role: 'member', created_at: now, cross_subnet_members: [], tombstoned_at: null, successor: null };
    const base = join(root, 'srv', 'vigo', 'ops-puddle', '.vigo-gitback');
    mkdirSync(join(root, 'srv', 'vigo', 'ops-puddle'), { recursive: true, mode: 0o700 });
    saveProject(base, { config, chain: [boot, member], delegations: [] });

    assert.deepEqual(users.list().map((u) => u.name), ['root', OPS_PUDDLE_ROOT_NAME]);
    assert.equal(users.byUid(0)?.name, 'root', "root's own entry still answers for uid 0");
    // its presenter is this host's service-account puddle (<srv>/puddle/identity.pub), root's file only
    const svcRoot = users.serviceRoot();
    assert.equal(svcRoot?.name, OPS_PUDDLE_ROOT_NAME);
    assert.equal(users.identity(svcRoot!), null, 'no service-account puddle yet');
    mkdirSync(join(root, 'srv', 'vigo', 'puddle'), { recursive: true, mode: 0o700 });
    writeFileSync(join(root, 'srv', 'vigo', 'puddle', 'identity.pub'), `${pubkeyHex(svc.publicKey)}\n`, { mode: 0o644 });
    assert.equal(users.identity(svcRoot!)?.trim(), pubkeyHex(svc.publicKey));
    const view = new LocalGitbackView(env, passwd, systemClock, () => undefined);
    const listed = view.projects();
    assert.deepEqual(listed.map((p) => [p.projectId, p.handle, p.scope]), [[pid, 'stacks', 'members-only']]);

    // state not owned by root is not walked
    chownSync(join(base, pid), 1, 1);
    assert.deepEqual(new LocalGitbackView(env, passwd, systemClock, () => undefined).projects(), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
