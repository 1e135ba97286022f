// The two-subnet bed (issue 14): hosts on 10.77.0.0/24 and 10.78.0.0/24, joined by a router
// namespace. Unicast crosses the router; multicast does not (it stays on its own subnet, as
// an announce does on two real LANs); a partition keeps routing only in its first group.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { netnsUnavailable, useNetnsBed } from '../helpers/netns.js';
import { nodeScript as node, reachTcp, serveTcp as serveTcp_ } from '../helpers/netns-probe.js';

const skip = netnsUnavailable();

describe('the two-subnet netns bed', { skip: skip ?? false }, () => {
  const bed = useNetnsBed(['a', 'b', 'c', 'd'], { subnet2: ['c', 'd'] });

  const serveTcp = (host: string, port: number) => serveTcp_(bed(), host, port);
  const reach = (from: string, to: string, port: number, deadlineMs?: number) => reachTcp(bed(), from, to, port, deadlineMs);

  test('hosts get addresses on their subnet; the router has one leg on each', () => {
    const b = bed();
    assert.match(b.host('a').addr, /^10\.77\.0\.\d+$/);
    assert.match(b.host('b').addr, /^10\.77\.0\.\d+$/);
    assert.match(b.host('c').addr, /^10\.78\.0\.\d+$/);
    assert.equal(b.host('c').subnet, 2);
    assert.ok(b.routerNs);
    const addrs = spawnSync('ip', ['-n', b.routerNs, '-o', 'addr'], { encoding: 'utf8' }).stdout;
    assert.match(addrs, /inet 10\.77\.0\.1\/24/);
    assert.match(addrs, /inet 10\.78\.0\.1\/24/);
  });

  test('a host on subnet 1 reaches one on subnet 2 by unicast, through the router', async () => {
    const servers = await Promise.all([serveTcp('c', 7101), serveTcp('a', 7101)]);
    try {
      assert.deepEqual(await reach('a', 'c', 7101), { ok: true, text: 'hello from c' });
      assert.deepEqual(await reach('d', 'a', 7101), { ok: true, text: 'hello from a' });
    } finally {
      for (const s of servers) s.kill('SIGKILL');
    }
  });

  test('a multicast datagram reaches its own subnet and never the other', async () => {
    const b = bed();
    const group = '239.77.0.2';
    const port = 47011;
    // each receiver prints every datagram it gets, for 8 s after the first one on subnet 1
    const receiver = (name: string) =>
      b.spawn(
        name,
        node(`import dgram from 'node:dgram';
const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
s.on('message', (m) => console.log('got ' + String(m)));
s.bind(${port}, () => { s.addMembership('${group}', '${b.host(name).addr}'); console.log('ready'); });
setTimeout(() => process.exit(0), 12000);`),
      );
    const outs = ['b', 'c', 'd'].map((name) => {
      const p = receiver(name);
      let out = '';
      const ready = new Promise<void>((r) => p.stdout?.on('data', (d: Buffer) => ((out += d.toString()), out.includes('ready') && r())));
      const done = new Promise<string>((r) => p.once('exit', () => r(out)));
      return { ready, done };
    });
    await Promise.all(outs.map((o) => o.ready));
    // TTL 8: were the router to forward multicast, TTL 1 would not be what stopped it
    const sender = b.spawn(
      'a',
      node(`import dgram from 'node:dgram';
const s = dgram.createSocket('udp4');
s.bind(0, () => { s.setMulticastTTL(8); setInterval(() => s.send('GITBACKPROJECT:a:00', ${port}, '${group}'), 200); });
setTimeout(() => process.exit(0), 12000);`),
    );
    const [onB, onC, onD] = await Promise.all(outs.map((o) => o.done));
    sender.kill('SIGKILL');
    assert.match(onB ?? '', /got GITBACKPROJECT:a:00/, 'b, on the same subnet, hears the announce');
    assert.doesNotMatch(onC ?? '', /got /, 'c, on subnet 2, does not');
    assert.doesNotMatch(onD ?? '', /got /, 'd, on subnet 2, does not');
  });

  test('partition: only the first group still routes between the subnets; heal mends it', async () => {
    const b = bed();
    const servers = await Promise.all([serveTcp('c', 7102), serveTcp('d', 7102)]);
    try {
      b.partition([['a', 'c'], ['b', 'd']]);
      assert.deepEqual(await reach('a', 'c', 7102), { ok: true, text: 'hello from c' }, 'group 0 keeps the router');
      assert.deepEqual(await reach('b', 'd', 7102, 1500), { ok: false, error: 'deadline' }, 'group 1 has no router');
      assert.deepEqual(await reach('a', 'd', 7102, 1500), { ok: false, error: 'deadline' }, 'd is across the partition');
      b.heal();
      assert.deepEqual(await reach('b', 'd', 7102), { ok: true, text: 'hello from d' });
    } finally {
      for (const s of servers) s.kill('SIGKILL');
    }
  });
});
