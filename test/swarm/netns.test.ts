// The multi-host test bed itself: hosts that reach each other only across the bridge,
// multicast that arrives, partitions that cut and heals that mend, and nothing left
// behind — not when a test passes, not when its process crashes.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetnsBed, netnsUnavailable, sweepStaleNetns, useNetnsBed } from '../helpers/netns.js';
import { nodeScript as node, reachTcp, serveTcp as serveTcp_ } from '../helpers/netns-probe.js';

const skip = netnsUnavailable();
const helperJs = fileURLToPath(new URL('../helpers/netns.js', import.meta.url));

function netnsList(): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

describe('the netns multi-host test bed', { skip: skip ?? false }, () => {
  const bed = useNetnsBed(['a', 'b', 'c']);

  const serveTcp = (host: string, port: number) => serveTcp_(bed(), host, port);
  const reach = (from: string, to: string, port: number, deadlineMs?: number) => reachTcp(bed(), from, to, port, deadlineMs);

  test('hosts have their own loopback and a 10.x address; the root namespace gains no link or address', () => {
    const b = bed();
    const rootLinks = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout;
    const rootAddrs = spawnSync('ip', ['-o', 'addr'], { encoding: 'utf8' }).stdout;
    assert.doesNotMatch(rootAddrs, /10\.77\.0\./, 'no bed address in the root namespace');
    for (const h of Object.values(b.hosts)) {
      assert.doesNotMatch(rootLinks, new RegExp(`\\b${h.port}@`), `bridge port ${h.port} is not in the root namespace`);
      const addrs = spawnSync('ip', ['-n', h.ns, '-o', 'addr'], { encoding: 'utf8' }).stdout;
      assert.match(addrs, /lo\s+inet 127\.0\.0\.1/);
      assert.match(addrs, new RegExp(`eth0\\s+inet ${h.addr.replace(/\./g, '\\.')}/24`));
    }
    assert.ok(netnsList().includes(b.bridgeNs));
  });

  test('each host has its own VIGO_ROOT, set for what runs there', async () => {
    const b = bed();
    const seen = await Promise.all(['a', 'b'].map(async (h) => (await b.exec(h, node('console.log(process.env.VIGO_ROOT)'))).stdout.trim()));
    assert.deepEqual(seen, [b.host('a').vigoRoot, b.host('b').vigoRoot]);
    assert.notEqual(seen[0], seen[1]);
    for (const r of seen) assert.ok(existsSync(r), r);
    const given = await b.exec('a', node('console.log(process.env.VIGO_ROOT)'), { env: { ...process.env, VIGO_ROOT: '/tmp/elsewhere' } });
    assert.equal(given.stdout.trim(), '/tmp/elsewhere', 'an explicit VIGO_ROOT wins');
  });

  test('a UDP multicast datagram sent on one host reaches the others', async () => {
    const b = bed();
    const group = '239.77.0.1';
    const port = 47001;
    const receiver = (name: string) =>
      b.spawn(
        name,
        node(`import dgram from 'node:dgram';
const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
s.on('message', (m, r) => { console.log(JSON.stringify({ got: String(m), from: r.address })); process.exit(0); });
s.bind(${port}, () => { s.addMembership('${group}', '${b.host(name).addr}'); console.log('ready'); });
setTimeout(() => process.exit(3), 30000);`),
      );
    const got = ['b', 'c'].map((name) => {
      const p = receiver(name);
      let out = '';
      const ready = new Promise<void>((r) => p.stdout?.on('data', (d: Buffer) => ((out += d.toString()), out.includes('ready') && r())));
      const done = new Promise<{ code: number | null; out: string }>((r) => p.once('exit', (code) => r({ code, out })));
      return { ready, done };
    });
    await Promise.all(got.map((g) => g.ready));
    // datagrams may be lost: send one every 200 ms until both receivers have one
    const sender = b.spawn(
      'a',
      node(`import dgram from 'node:dgram';
const s = dgram.createSocket('udp4');
// no interface named: the host's 224.0.0.0/4 route picks eth0, as for an announcer
s.bind(0, () => setInterval(() => s.send('GITBACKPROJECT:a:00', ${port}, '${group}'), 200));
setTimeout(() => process.exit(0), 30000);`),
    );
    const results = await Promise.all(got.map((g) => g.done));
    sender.kill('SIGKILL');
    for (const r of results) {
      assert.equal(r.code, 0, `receiver timed out: ${r.out}`);
      const line = JSON.parse(r.out.split('\n').find((l) => l.startsWith('{')) ?? '{}') as { got?: string; from?: string };
      assert.deepEqual(line, { got: 'GITBACKPROJECT:a:00', from: b.host('a').addr });
    }
  });

  test('partition cuts the groups apart, traffic within a group still flows, heal mends it', async () => {
    const b = bed();
    const servers = await Promise.all([serveTcp('a', 7001), serveTcp('c', 7001)]);
    assert.deepEqual(await reach('b', 'a', 7001), { ok: true, text: 'hello from a' });
    b.partition([['a'], ['b', 'c']]);
    assert.deepEqual(await reach('b', 'a', 7001, 1500), { ok: false, error: 'deadline' }, 'b cannot reach a across the partition');
    assert.deepEqual(await reach('b', 'c', 7001), { ok: true, text: 'hello from c' }, 'b still reaches c on its side');
    b.partition([['b', 'c']]);
    assert.deepEqual(await reach('c', 'a', 7001, 1500), { ok: false, error: 'deadline' }, 'a, in no group, is cut off');
    b.heal();
    assert.deepEqual(await reach('b', 'a', 7001), { ok: true, text: 'hello from a' }, 'after heal, b reaches a again');
    for (const s of servers) s.kill('SIGKILL');
  });

  test('impair adds delay on a host (tc netem), when the kernel has it', async (t) => {
    const b = bed();
    if (b.netemUnavailable !== null) {
      assert.throws(() => b.impair('a', { delayMs: 100 }), /sch_netem/);
      t.skip(b.netemUnavailable);
      return;
    }
    const server = await serveTcp('a', 7002);
    b.impair('a', { delayMs: 300 });
    const r = await b.exec('b', node(`import net from 'node:net'; const t0 = Date.now(); const s = net.connect(7002, '${b.host('a').addr}', () => { console.log(Date.now() - t0); s.destroy(); });`));
    const ms = Number(r.stdout.trim());
    console.log(`TCP connect across a 300 ms netem delay took ${ms} ms`);
    assert.ok(ms >= 280, `${ms} ms`);
    b.heal();
    server.kill('SIGKILL');
  });
});

describe('the netns bed leaves nothing behind', { skip: skip ?? false }, () => {
  /** A separate process that builds a bed of two hosts, prints its prefix, then does `then`. */
  function childBed(then: string): Promise<{ prefix: string; code: number | null; signal: NodeJS.Signals | null; child: ReturnType<typeof spawn> }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', `import { NetnsBed } from ${JSON.stringify(helperJs)}; const b = new NetnsBed(['x', 'y']); console.log('prefix ' + b.prefix); ${then}`], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let prefix = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /prefix (\S+)/.exec(out);
        if (m && prefix === '') {
          prefix = m[1] as string;
          resolve({ prefix, code: null, signal: null, child });
        }
      });
      child.once('exit', (code, signal) => (prefix === '' ? reject(new Error(`child bed exited ${String(code ?? signal)} before it was built: ${out}`)) : undefined));
    });
  }
  const exited = (c: ReturnType<typeof spawn>) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));

  test('a test process that dies of an uncaught error removes its namespaces on exit', async () => {
    const { prefix, child } = await childBed(`setTimeout(() => { throw new Error('test failed'); }, 500);`);
    await exited(child);
    assert.deepEqual(netnsList().filter((n) => n.startsWith(prefix)), [], 'its exit handler removed them');
    assert.equal(existsSync(join(tmpdir(), 'vigo-netns-beds', prefix)), false);
  });

  test("a run that was SIGKILLed leaves namespaces that the next bed's setup sweeps", async () => {
    const { prefix, child } = await childBed(`setInterval(() => {}, 1000);`);
    assert.equal(netnsList().filter((n) => n.startsWith(prefix)).length, 3, 'two hosts and the bridge exist while it runs');
    child.kill('SIGKILL');
    await exited(child);
    assert.equal(netnsList().filter((n) => n.startsWith(prefix)).length, 3, 'no handler runs on SIGKILL: they are left behind');
    // other tests' scratch directories (the tree's tests name theirs vgt-…) are not the bed's
    const bystanders = [mkdtempSync(join(tmpdir(), 'vgt-bystander-')), join(tmpdir(), 'vigo-netns-beds', 'not-a-bed')];
    mkdirSync(bystanders[1] as string, { recursive: true });
    const swept = sweepStaleNetns();
    for (const d of bystanders) {
      assert.ok(existsSync(d), `the sweep left ${d} alone`);
      rmSync(d, { recursive: true, force: true });
    }
    assert.deepEqual(swept.filter((n) => n.startsWith(prefix)).sort(), [`${prefix}-br`, `${prefix}-x`, `${prefix}-y`]);
    assert.deepEqual(netnsList().filter((n) => n.startsWith(prefix)), []);
    assert.equal(existsSync(join(tmpdir(), 'vigo-netns-beds', prefix)), false, 'and its VIGO_ROOT directories');
  });

  test('a live bed is never swept, and destroy removes it and the processes it started', async () => {
    const bed = new NetnsBed(['m']);
    try {
      const p = bed.spawn('m', [process.execPath, '-e', 'setInterval(() => {}, 1000)']);
      await new Promise((r) => setTimeout(r, 300));
      sweepStaleNetns();
      assert.ok(netnsList().includes(bed.host('m').ns), 'this process is alive: its bed stays');
      bed.destroy();
      await exited(p);
      assert.deepEqual(netnsList().filter((n) => n.startsWith(bed.prefix)), []);
      assert.equal(existsSync(bed.rootsDir), false, 'the hosts\' VIGO_ROOT directories are gone too');
    } finally {
      bed.destroy();
    }
  });
});

describe('without root the bed is skipped, saying why', () => {
  test('netnsUnavailable names the reason or is null', () => {
    const why = netnsUnavailable();
    if (process.getuid?.() !== 0) assert.match(why ?? '', /needs root/);
    else if (why !== null) console.log(`the bed cannot run here: ${why}`);
  });
});
