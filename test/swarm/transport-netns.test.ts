// Two envoys on two hosts of the netns bed, each a real process running the swarm
// transport with its own enrollment certificate: they reach each other across the bridge,
// a partition makes the caller's deadline fire instead of hanging, and healing restores it.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { netnsUnavailable, useNetnsBed } from '../helpers/netns.js';
import { TestFleet, writeIdentityDir, type TestEnvoy } from './transport-fleet.js';

const skip = netnsUnavailable();
const peerJs = fileURLToPath(new URL('./transport-peer.js', import.meta.url));
const PORT = '1531';

interface CallResult {
  ok: boolean;
  status?: number;
  body?: { peer: string; body: string };
  code?: string;
  message?: string;
  ms: number;
}

describe('swarm transport across two netns hosts', { skip: skip ?? false }, () => {
  const bed = useNetnsBed(['a', 'b']);
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function serve(host: string, dir: string): Promise<ChildProcess> {
    const p = bed().spawn(host, [process.execPath, peerJs, 'serve', dir, bed().host(host).addr, PORT]);
    let out = '';
    let err = '';
    p.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      p.stdout?.on('data', (d: Buffer) => ((out += d.toString()), out.includes('listening') && resolve()));
      p.once('exit', (code) => reject(new Error(`transport on ${host} exited ${String(code)}: ${err}`)));
    });
    return p;
  }

  async function call(from: string, dir: string, to: string, expect: TestEnvoy, deadlineMs: number): Promise<CallResult> {
    const r = await bed().exec(from, [process.execPath, peerJs, 'call', dir, bed().host(to).addr, PORT, expect.id, String(deadlineMs)]);
    const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
    assert.ok(line, `no result from the call on ${from}: ${r.stderr}`);
    return JSON.parse(line) as CallResult;
  }

  test('round trip across the bridge, deadline under a partition, served again after heal', { timeout: 120_000 }, async () => {
    const fleet = await TestFleet.create();
    const [a, b] = await Promise.all([fleet.envoy('a'), fleet.envoy('b')]);
    const [dirA, dirB] = [writeIdentityDir(a), writeIdentityDir(b)];
    dirs.push(dirA, dirB);
    await Promise.all([serve('a', dirA), serve('b', dirB)]);

    const bToA = await call('b', dirB, 'a', a, 10_000);
    assert.deepEqual({ ok: bToA.ok, status: bToA.status, body: bToA.body }, { ok: true, status: 200, body: { peer: b.id, body: 'across the bridge' } }, JSON.stringify(bToA));
    const aToB = await call('a', dirA, 'b', b, 10_000);
    assert.deepEqual(aToB.body, { peer: a.id, body: 'across the bridge' }, JSON.stringify(aToB));
    console.log(`round trip b->a ${bToA.ms} ms, a->b ${aToB.ms} ms (new process, TLS handshake included)`);

    bed().partition([['a'], ['b']]);
    const cut = await call('b', dirB, 'a', a, 2000);
    console.log(`under partition the 2000 ms deadline fired after ${cut.ms} ms: ${String(cut.code)}`);
    assert.equal(cut.ok, false);
    assert.equal(cut.code, 'E_SWARM_DEADLINE', cut.message);
    assert.ok(cut.ms >= 1900 && cut.ms < 20_000, `${cut.ms} ms`);

    bed().heal();
    const healed = await call('b', dirB, 'a', a, 10_000);
    assert.deepEqual(healed.body, { peer: b.id, body: 'across the bridge' }, JSON.stringify(healed));
  });
});
