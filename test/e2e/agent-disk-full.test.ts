// Issue 16 item 12: an agent whose disk is full said "server unreachable" — the operator
// went looking at the network. With its state directory on a full filesystem (a real
// tmpfs, filled), the agent now says what failed (caching the bundle, spooling the run:
// the disk is full), still applies the policy it received, and never blames the server.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, waitFor } from '../server/harness.js';

const fleet = new Fleet();
let mounted = '';
after(async () => {
  await fleet.cleanup().catch(() => undefined);
  if (mounted) spawnSync('umount', ['-l', mounted]);
});

test('a full disk on the envoy is reported as a full disk, not as an unreachable server', async () => {
  await fleet.startServer();
  await fleet.enroll('web-01');
  const state = join(fleet.envoyRoot('web-01'), 'var', 'lib', 'vigo', 'checkin');
  mkdirSync(state, { recursive: true });
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', state], { encoding: 'utf8' });
  assert.equal(m.status, 0, `mount a small tmpfs for the agent's state (needs root): ${m.stderr}`);
  mounted = state;
  mkdirSync(join(state, 'spool'), { mode: 0o700 });
  // fill it: the next file written there gets ENOSPC
  try {
    writeFileSync(join(state, 'filler'), Buffer.alloc(128 * 1024));
  } catch (e) {
    assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
  }

  fleet.writeStacks({ motd: 'name: motd\nresources:\n  - type: file\n    path: /etc/motd\n    content: "hello\\n"\n    mode: "0644"\n' }, 'envoys:\n  - match: "web-*"\n    configcrates: [motd]\n');
  const agent = fleet.startAgent('web-01');
  await waitFor('web-01 connected', async () => (await fleet.api<{ envoys: { connected: boolean }[] }>('GET', '/api/v1/envoys')).envoys.every((e) => e.connected), 30_000);
  const pub = fleet.cli('vigocli.js', ['config', 'publish', '--json']);
  assert.equal(pub.status, 0, pub.stderr);

  await waitFor('the agent names the full disk', () => /caching it at .*bundle\.json failed: the disk is full \(ENOSPC/.test(agent.out()), 30_000, 100);
  await waitFor('the agent names the spool it could not write', () => /spooling the run report in .*spool failed: the disk is full/.test(agent.out()), 30_000, 100);
  // it applied the policy from memory all the same
  const motd = join(fleet.envoyRoot('web-01'), 'etc', 'motd');
  await waitFor('/etc/motd written', () => existsSync(motd) && readFileSync(motd, 'utf8') === 'hello\n', 30_000, 100);
  assert.doesNotMatch(agent.out(), /server unreachable/);
  await fleet.stopProc(agent);
});
