// The swarm service of `vigo agent run`, in process with a real enrollment identity, a real
// local user's project state and real sockets: an operator's envoy runs its peer server
// only while its swarm assignment enables gitback, joins the projects its users hold,
// hands the running node to the fan-out hook before stopping it, and — when its port is
// taken — keeps trying while the assignment stands.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SwarmService, type SwarmNode } from '../../src/swarm/index.js';
import { resolveSwarmAssignment } from '../../src/server/index.js';
import { generateKeyPair, mintBootstrapToken, seedSigner, toHex } from '../../src/trust/index.js';
import { saveProject, type ProjectConfig } from '../../src/gitback/state.js';
import type { AgentConfig, AgentContext } from '../../src/agent/index.js';
import { freePort, waitFor } from '../server/harness.js';
import { TestFleet } from '../swarm/transport-fleet.js';

const dir = mkdtempSync(join(tmpdir(), 'vgt-swarm-service-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const OPEN = resolveSwarmAssignment('web-3', { enabled: ['*'], gitback: { enabled: ['web-*'] } });
const CLOSED = resolveSwarmAssignment('web-3', { enabled: ['*'], gitback: { enabled: ['-web-3', '*'] } });

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}

/** An enrolled envoy root (identity as enrollment writes it) with one local user who founded a project. */
async function envoy(name: string): Promise<{ root: string; passwd: string; pid: string; envoyId: string }> {
  const root = join(dir, name);
  const etc = join(root, 'etc', 'vigo-envoy');
  mkdirSync(etc, { recursive: true });
  const e = await (await TestFleet.create()).envoy('web-3');
  writeFileSync(join(etc, 'envoy.crt'), e.identity.cert);
  writeFileSync(join(etc, 'envoy.key'), e.identity.key, { mode: 0o600 });
  writeFileSync(join(etc, 'ca.crt'), e.identity.ca);
  writeFileSync(join(etc, 'identity.json'), JSON.stringify({ envoy_id: e.id, hostname: 'web-3', server: 'https://127.0.0.1:8443', grpc_addr: '127.0.0.1:1530', interval_s: 60, enrolled_at: new Date().toISOString() }));
  const home = join(root, 'home-alice');
  const uid = process.getuid?.() ?? 0;
  const s = seedSigner(generateKeyPair().seed);
  const pk = toHex(s.publicKey);
  const now = Math.floor(Date.now() / 1000);
  const tok = await mintBootstrapToken(s, 'notes', now - 60);
  const config: ProjectConfig = { version: 1, project_id: tok.project_id, handle: 'notes', founder: pk, scope: 'members-only', members: [pk], role: 'admin', created_at: now, cross_subnet_members: [], tombstoned_at: null, successor: null };
  saveProject(join(home, '.vigo-gitback'), { config, chain: [tok], delegations: [] });
  const passwd = join(root, 'passwd');
  writeFileSync(passwd, `alice:x:${uid}:${uid}::${home}:/bin/sh\n`);
  return { root, passwd, pid: tok.project_id, envoyId: e.id };
}

async function service(e: { root: string; passwd: string }, port: number, extra: { retryMs?: number } = {}) {
  const logs: string[] = [];
  const config: AgentConfig = {
    file: join(e.root, 'agent.yaml'),
    sections: { swarm: { listen: `127.0.0.1:${port}`, announce_port: await freePort(), announce_interface: '127.0.0.1', rescan_s: 1 }, gitback: { passwd_file: e.passwd } },
  };
  const attached: Array<{ node: SwarmNode | null; listeningThen: boolean | null }> = [];
  let last: SwarmNode | null = null;
  const svc = new SwarmService(config, {
    ...extra,
    attach: (node) => {
      // before it stops, the node handed back is still serving (the hook can drain it)
      let listeningThen: boolean | null = null;
      if (node === null && last !== null) {
        try {
          last.transport.address();
          listeningThen = true;
        } catch {
          listeningThen = false;
        }
      }
      attached.push({ node, listeningThen });
      last = node;
    },
  });
  const ctx: AgentContext = { config, env: { VIGO_ROOT: e.root }, log: (m) => void logs.push(m) };
  await svc.start(ctx);
  return { svc, logs, attached };
}

test('the peer server runs only while the assignment enables gitback; local projects are joined; attach sees it start and stop', async () => {
  const e = await envoy('lifecycle');
  const port = await freePort();
  const { svc, logs, attached } = await service(e, port);
  try {
    assert.equal(svc.node, null, 'no assignment yet: off');
    assert.equal(await listening(port), false);
    assert.ok(logs.some((l) => /no swarm assignment yet/.test(l)), logs.join('\n'));

    await svc.assign(CLOSED);
    assert.equal(svc.node, null, 'gitback denied: off');
    assert.equal(await listening(port), false);

    await svc.assign(OPEN);
    const node = svc.node as SwarmNode | null;
    assert.ok(node !== null, logs.join('\n'));
    assert.equal(await listening(port), true);
    assert.deepEqual(node.store.project(e.pid as never), { projectId: e.pid, scope: 'members-only', member: true }, `the local user's members-only project is joined as a member\n${logs.join('\n')}`);
    assert.deepEqual(attached, [{ node, listeningThen: null }]);
    await svc.assign(OPEN); // the same again: nothing restarts
    assert.equal(svc.node, node);

    await svc.assign(CLOSED);
    assert.equal(svc.node, null);
    assert.equal(await listening(port), false, 'connection refused once gitback is off');
    assert.deepEqual(attached.map((a) => [a.node === null ? null : 'node', a.listeningThen]), [['node', null], [null, true]]);
    assert.ok(logs.some((l) => /peer server and announcer stopped \(gitback is no longer enabled for this envoy\)/.test(l)), logs.join('\n'));
  } finally {
    await svc.stop();
  }
});

test('a taken port is retried while the assignment stands, and the node comes up once it is free', async () => {
  const e = await envoy('retry');
  const port = await freePort();
  const blocker: Server = createServer();
  await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
  const { svc, logs } = await service(e, port, { retryMs: 200 });
  try {
    await svc.assign(OPEN);
    assert.equal(svc.node, null);
    assert.ok(logs.some((l) => /cannot listen on 127\.0\.0\.1:\d+.*retrying in 0\.2s/.test(l)), logs.join('\n'));
    await new Promise<void>((r) => blocker.close(() => r()));
    await waitFor('the peer server after the port was freed', () => svc.node !== null, 30_000, 50);
    assert.equal(await listening(port), true);
  } finally {
    blocker.close();
    await svc.stop();
  }
  assert.equal(await listening(port), false, 'stopped with the agent');
});
