// kill -9 of the joining bolt at the moment the inviter has admitted it: whichever side of
// the answer the kill lands on, after a restart both bolts hold whole rosters, the bundle
// is spent, and the joiner ends up admitted once (with a fresh invite when it had not
// stored the answer), so both list the same roster.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Fleet, bin, freePort, waitFor } from '../server/harness.js';

const A = new Fleet();
const B = new Fleet();

async function yaml(f: Fleet, mode: 'hub' | 'spoke', boltId: string, pattern: string): Promise<string> {
  if (!f.restPort) f.restPort = await freePort();
  return (
    'checkin:\n  interval: 1s\n' +
    `spanner:\n  mode: ${mode}\n  spanner_id: crash-test\n  bolt_id: ${boltId}\n  advertise: 127.0.0.1:${f.restPort}\n  patterns: ["${pattern}"]\n  gossip_interval_s: 1\n` +
    (mode === 'spoke' ? `  hub_addr: 127.0.0.1:${A.restPort}\n` : '')
  );
}

let yamlB = '';
before(async () => {
  await A.startServer(await yaml(A, 'hub', 'bolt-a', 'web-*'));
  yamlB = await yaml(B, 'spoke', 'bolt-b', 'db-*');
  await B.startServer(yamlB);
});
after(async () => {
  await Promise.all([A.cleanup(), B.cleanup()]);
});

function cli(f: Fleet, args: string[]): { status: number | null; stdout: string; stderr: string } {
  return f.cli('vigocli.js', args);
}
const rosterOf = (f: Fleet) => {
  const r = cli(f, ['spanner', 'bolt', 'list', '--json']);
  return r.status === 0 ? (JSON.parse(r.stdout) as { digest: string; bolts: { bolt_id: string; status: string }[] }) : null;
};

test('kill -9 of the joiner as the inviter admits it: after restart both agree, admitted once', async () => {
  assert.equal(cli(A, ['spanner', 'init']).status, 0);
  const bundleFile = join(A.dir, 'b.invite');
  assert.equal(cli(A, ['spanner', 'bolt', 'invite', '--out', bundleFile]).status, 0);
  const bundle = `@${bundleFile}`;
  const srvB = B.srv!;
  const join1 = spawn(process.execPath, [bin('vigocli.js'), 'spanner', 'bolt', 'join', '--from', A.restUrl, '--code', bundle], { env: { ...process.env, VIGO_ROOT: B.srvRoot, HOME: join(B.dir, 'home') }, stdio: 'ignore' });
  const joined = new Promise((r) => join1.on('exit', r));
  await waitFor('A admits bolt-b', () => A.srv!.out().includes('admitted bolt bolt-b'), 30_000, 5);
  srvB.child.kill('SIGKILL');
  await srvB.exited;
  await joined;
  B.srv = undefined;
  await B.startServer(yamlB);

  const a = rosterOf(A)!;
  assert.deepEqual(a.bolts.map((b) => [b.bolt_id, b.status]), [['bolt-a', 'live'], ['bolt-b', 'live']], 'A stored the admission and the spent token in one transaction');
  let b = rosterOf(B);
  console.log(`the kill landed ${b === null ? 'before B stored the answer' : 'after B stored the answer'}`);
  if (b === null) {
    // the same join again: the bundle is spent, but B proves the key A admitted, so A answers again
    const r = cli(B, ['spanner', 'bolt', 'join', '--from', A.restUrl, '--code', bundle]);
    assert.equal(r.status, 0, r.stderr);
    b = rosterOf(B);
    await waitFor('A logs the second join', () => /bolt bolt-b \([0-9a-f]{64}\) joined again/.test(A.srv!.out()), 10_000);
  }
  // no second admission row: one admit each, plus the spent token
  assert.equal(b!.bolts.length, 2);
  await waitFor('A and B hold the same roster', () => rosterOf(A)?.digest === rosterOf(B)?.digest, 30_000, 200);
  assert.deepEqual(rosterOf(B)!.bolts.map((x) => [x.bolt_id, x.status]), [['bolt-a', 'live'], ['bolt-b', 'live']]);
  assert.ok(b);
});
