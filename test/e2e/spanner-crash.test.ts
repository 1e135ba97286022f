// kill -9 during a join, of the joiner and of the inviter, at the moment the inviter logs
// the admission: whichever side of the answer the kill lands on (the test prints which),
// after a restart every roster is whole, the joiner is admitted once (running the same
// join again when it had not stored the answer), and all bolts list the same roster.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Fleet, bin, freePort, waitFor } from '../server/harness.js';

const A = new Fleet();
const B = new Fleet();
const C = new Fleet();

async function yaml(f: Fleet, mode: 'hub' | 'spoke', boltId: string, pattern: string): Promise<string> {
  if (!f.restPort) f.restPort = await freePort();
  return (
    'checkin:\n  interval: 1s\n' +
    `spanner:\n  mode: ${mode}\n  spanner_id: crash-test\n  bolt_id: ${boltId}\n  advertise: 127.0.0.1:${f.restPort}\n  patterns: ["${pattern}"]\n  gossip_interval_s: 1\n` +
    (mode === 'spoke' ? `  hub_addr: 127.0.0.1:${A.restPort}\n` : '')
  );
}

let yamlA = '';
let yamlB = '';
before(async () => {
  yamlA = await yaml(A, 'hub', 'bolt-a', 'web-*');
  await A.startServer(yamlA);
  yamlB = await yaml(B, 'spoke', 'bolt-b', 'db-*');
  await B.startServer(yamlB);
  await C.startServer(await yaml(C, 'spoke', 'bolt-c', 'mq-*'));
});
after(async () => {
  await Promise.all([A.cleanup(), B.cleanup(), C.cleanup()]);
});

/** Starts `bolt join` on f in the background; resolves with its exit code. */
function joinInBackground(f: Fleet, from: string, code: string): Promise<number | null> {
  const p = spawn(process.execPath, [bin('vigocli.js'), 'spanner', 'bolt', 'join', '--from', from, '--code', code], { env: { ...process.env, VIGO_ROOT: f.srvRoot, HOME: join(f.dir, 'home') }, stdio: 'ignore' });
  return new Promise((r) => p.on('exit', r));
}

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
  const joined = joinInBackground(B, A.restUrl, bundle);
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

test('kill -9 of the inviter as it admits: after restart its roster is whole and the joiner gets in', async () => {
  const file = join(A.dir, 'c.invite');
  assert.equal(cli(A, ['spanner', 'bolt', 'invite', '--out', file]).status, 0);
  const srvA = A.srv!;
  const joined = joinInBackground(C, A.restUrl, `@${file}`);
  await waitFor('A admits bolt-c', () => srvA.out().includes('admitted bolt bolt-c'), 30_000, 5);
  srvA.child.kill('SIGKILL');
  await srvA.exited;
  const code = await joined;
  A.srv = undefined;
  await A.startServer(yamlA);
  console.log(`the join ${code === 0 ? 'got its answer before the kill' : 'lost its answer'}`);
  assert.deepEqual(rosterOf(A)!.bolts.map((x) => [x.bolt_id, x.status]), [['bolt-a', 'live'], ['bolt-b', 'live'], ['bolt-c', 'live']]);
  if (rosterOf(C) === null) {
    const r = cli(C, ['spanner', 'bolt', 'join', '--from', A.restUrl, '--code', `@${file}`]);
    assert.equal(r.status, 0, r.stderr);
  }
  await waitFor('A, B and C hold the same roster', () => {
    const d = [A, B, C].map((f) => rosterOf(f)?.digest);
    return d[0] !== undefined && d.every((x) => x === d[0]);
  }, 30_000, 200);
});
