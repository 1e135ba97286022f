// The swarm peer transport as an operator relies on it: only envoys of this fleet get in,
// each is known by the id in its certificate, and no peer can make it hold a body, a
// connection or a handler slot past the limits — while other peers are still served.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type TLSSocket } from 'node:tls';
import { connect as tcpConnect, type Socket } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { SwarmTransport, SwarmError, type SwarmLimits, type SwarmPeer } from '../../src/swarm/transport.js';
import { swarmCall, type SwarmCall } from '../../src/swarm/transport-client.js';
import { TestFleet, type TestEnvoy } from './transport-fleet.js';

let fleet: TestFleet;
let rogue: TestFleet;
let a: TestEnvoy; // runs the transport
let b: TestEnvoy;
let c: TestEnvoy;
let outsider: TestEnvoy; // an envoy of another fleet
const running: SwarmTransport[] = [];

before(async () => {
  fleet = await TestFleet.create('fleet one');
  rogue = await TestFleet.create('fleet one'); // same name, other key: names prove nothing
  [a, b, c] = await Promise.all([fleet.envoy('a'), fleet.envoy('b'), fleet.envoy('c')]);
  outsider = await rogue.envoy('mallory');
});
after(async () => {
  await Promise.all(running.map((t) => t.close()));
});

interface Seen {
  peers: SwarmPeer[];
  bodies: string[];
}

/** A transport on loopback for envoy A, with /echo and a /hold that waits for `release()`. */
async function startA(limits: Partial<SwarmLimits> = {}, who: TestEnvoy = a) {
  const seen: Seen = { peers: [], bodies: [] };
  let gate: () => void = () => {};
  let held = new Promise<void>((r) => (gate = r));
  const t = new SwarmTransport({ identity: who.identity, host: '127.0.0.1', port: 0, limits });
  t.route('POST', '/echo', (peer, req) => {
    seen.peers.push(peer);
    seen.bodies.push(req.body.toString());
    return { status: 200, body: { peer: peer.envoyId, bytes: req.body.length } };
  });
  t.route('GET', '/hold/:n', async (peer, req) => {
    seen.peers.push(peer);
    await held;
    return { status: 200, body: { n: req.params.n } };
  });
  t.route('POST', '/refuse', () => {
    throw new SwarmError(409, 'E_STALE_TIP', 'the tip you sent is behind ours');
  });
  const { port } = await t.listen();
  running.push(t);
  return {
    t,
    port,
    seen,
    release: () => {
      gate();
      held = new Promise<void>((r) => (gate = r));
    },
  };
}

function call(port: number, from: TestEnvoy, o: Partial<SwarmCall> = {}) {
  return swarmCall({ identity: from.identity, host: '127.0.0.1', port, expectEnvoyId: a.id, method: 'POST', path: '/echo', body: 'hello', deadlineMs: 20_000, ...o });
}

/** A raw TLS connection with whatever certificate (or none); resolves when the server has spoken or hung up. */
function rawTls(port: number, creds: { cert?: string; key?: string }, send: string): Promise<{ text: string; error: string | null }> {
  return new Promise((resolve) => {
    let text = '';
    let error: string | null = null;
    const s: TLSSocket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...creds }, () => s.write(send));
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    s.on('close', () => resolve({ text, error }));
    s.setTimeout(20_000, () => s.destroy());
  });
}

async function waitFor(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a fleet envoy gets through, and the handler knows it by the id in its certificate', async () => {
  const { port, seen } = await startA();
  const r = await call(port, b, { body: 'from b', headers: { 'x-vigo-envoy': c.id } });
  assert.equal(r.status, 200);
  assert.equal(r.peerEnvoyId, a.id, 'the client checked it reached A');
  assert.deepEqual(JSON.parse(r.body.toString()), { peer: b.id, bytes: 6 });
  // a header claiming another identity changes nothing: the certificate decides
  assert.equal(seen.peers[0]?.envoyId, b.id);
  assert.match(seen.peers[0]?.certSha256 ?? '', /^[0-9a-f]{64}$/);
  const r2 = await call(port, c);
  assert.deepEqual(JSON.parse(r2.body.toString()), { peer: c.id, bytes: 5 });
});

test('an envoy of another fleet is refused in the TLS handshake, before any handler runs', async () => {
  const { t, port, seen } = await startA();
  // as a client of A: its certificate does not chain to A's fleet CA
  const raw = await rawTls(port, { cert: outsider.identity.cert, key: outsider.identity.key }, 'POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nhi');
  assert.doesNotMatch(raw.text, /HTTP\/1\.1/, 'no HTTP answer at all');
  console.log(`the outsider's connection ended with ${String(raw.error ?? 'a close')}`);
  await waitFor('the refusal to be counted', () => t.stats().tlsRefused >= 1);
  // through the real client it fails too, and both ways: A is not of the outsider's fleet either
  await assert.rejects(call(port, outsider), (e: Error & { code?: string }) => /E_SWARM_PEER_UNTRUSTED|E_SWARM_CONNECT/.test(e.code ?? '') || assert.fail(e.message));
  assert.equal(seen.peers.length, 0, 'no handler ran');
});

test('a peer that serves a certificate from another CA is refused by the client before it sends anything', async () => {
  const { port, seen } = await startA({}, outsider);
  await assert.rejects(call(port, b, { expectEnvoyId: outsider.id }), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_SWARM_PEER_UNTRUSTED', e.message);
    assert.match(e.message, /not issued by this fleet's CA; nothing was sent|not issued by this fleet's CA/);
    return true;
  });
  assert.equal(seen.peers.length, 0, 'the request never reached the impostor');
});

test('a peer with the right CA but another envoy id is refused: discovery nominates, TLS decides', async () => {
  const { port, seen } = await startA();
  await assert.rejects(call(port, b, { expectEnvoyId: c.id }), (e: Error & { code?: string }) => e.code === 'E_SWARM_PEER_MISMATCH' || assert.fail(`${String(e.code)} ${e.message}`));
  assert.equal(seen.peers.length, 0);
});

test('a client without a certificate, or with the fleet server certificate, is refused at the TLS layer', async () => {
  const { t, port, seen } = await startA();
  const before = t.stats().tlsRefused;
  const none = await rawTls(port, {}, 'POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nhi');
  assert.doesNotMatch(none.text, /HTTP\/1\.1/);
  // vigosrv's certificate chains to the same CA but is a server certificate (no clientAuth)
  const srv = await fleet.serverIdentity();
  const asServer = await rawTls(port, { cert: srv.cert, key: srv.key }, 'POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nhi');
  assert.doesNotMatch(asServer.text, /HTTP\/1\.1/);
  await waitFor('both refusals to be counted', () => t.stats().tlsRefused >= before + 2);
  assert.equal(seen.peers.length, 0);
});

test('an oversized body gets 413 JSON, declared or streamed, and the handler never sees it', async () => {
  const { port, seen } = await startA({ bodyLimitBytes: 64 * 1024 });
  const declared = await call(port, b, { body: Buffer.alloc(65 * 1024, 1) });
  assert.equal(declared.status, 413);
  assert.equal(declared.error?.code, 'E_BODY_TOO_LARGE');
  assert.match(declared.error?.message ?? '', /65536 bytes/);
  // no content-length: the server counts what arrives and stops at the limit
  const chunks = Array.from({ length: 40 }, () => Buffer.alloc(4096, 2));
  const streamed = await call(port, b, { body: Readable.from(chunks) });
  assert.equal(streamed.status, 413);
  assert.equal(streamed.error?.code, 'E_BODY_TOO_LARGE');
  assert.equal(seen.peers.length, 0);
  // a body at the limit is fine
  const ok = await call(port, b, { body: Buffer.alloc(64 * 1024, 3) });
  assert.equal(ok.status, 200);
});

test('a slow-loris peer is cut at the time limit, in the headers and in the body', async () => {
  const { port, seen } = await startA({ headersTimeoutMs: 1500, requestTimeoutMs: 1500 });
  // sends `whole` at once, then `slow` one byte every 200 ms: forever, at this rate
  const trickle = (whole: string, slow: string) =>
    new Promise<{ text: string; ms: number }>((resolve) => {
      const t0 = Date.now();
      let text = '';
      let timer: NodeJS.Timeout | undefined;
      const s = connect({ host: '127.0.0.1', port, cert: b.identity.cert, key: b.identity.key, rejectUnauthorized: false }, () => {
        let i = 0;
        s.write(whole);
        timer = setInterval(() => {
          if (i < slow.length && !s.destroyed) s.write(slow[i++] as string);
        }, 200);
      });
      s.on('data', (d: Buffer) => (text += d.toString()));
      s.on('error', () => {});
      s.on('close', () => {
        clearInterval(timer);
        resolve({ text, ms: Date.now() - t0 });
      });
      s.setTimeout(30_000, () => s.destroy());
    });
  const inHeaders = await trickle('POST /echo HTTP/1.1\r\nhost: x\r\n', `content-length: 5\r\nx-pad: ${'p'.repeat(60)}\r\n\r\nhello`);
  console.log(`headers slow-loris cut after ${inHeaders.ms} ms (limit 1500 ms)`);
  assert.match(inHeaders.text, /^HTTP\/1\.1 408/);
  assert.match(inHeaders.text, /"code":"E_TIMEOUT","message":"request headers not received within 1500 ms"/);
  assert.ok(inHeaders.ms >= 1400 && inHeaders.ms < 15_000, `cut in ${inHeaders.ms} ms`);
  const inBody = await trickle('POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n', 'x'.repeat(1000));
  console.log(`body slow-loris cut after ${inBody.ms} ms (limit 1500 ms)`);
  assert.match(inBody.text, /^HTTP\/1\.1 408/);
  assert.match(inBody.text, /"code":"E_TIMEOUT","message":"request not completed within 1500 ms"/);
  assert.ok(inBody.ms >= 1400 && inBody.ms < 15_000, `cut in ${inBody.ms} ms`);
  // a bare TCP connection that never starts the handshake is closed at the same limit
  const silent = await new Promise<number>((resolve) => {
    const t0 = Date.now();
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.on('error', () => {});
    s.on('close', () => resolve(Date.now() - t0));
  });
  console.log(`silent TCP connection closed after ${silent} ms (limit 1500 ms)`);
  assert.ok(silent >= 1400 && silent < 15_000, `closed in ${silent} ms`);
  assert.equal(seen.peers.length, 0, 'no handler ran for any of them');
});

test('a peer over its concurrency limit gets 429 JSON while another peer is still served', async () => {
  const { t, port, release } = await startA({ perPeerConcurrency: 2 });
  const held = [call(port, b, { method: 'GET', path: '/hold/1', body: undefined }), call(port, b, { method: 'GET', path: '/hold/2', body: undefined })];
  await waitFor('two of B requests in flight', () => t.stats().inFlight[b.id] === 2);
  const third = await call(port, b, { method: 'GET', path: '/hold/3', body: undefined });
  assert.equal(third.status, 429);
  assert.equal(third.error?.code, 'E_PEER_BUSY');
  assert.match(third.error?.message ?? '', /limit 2/);
  // C is not B: it is served while B's two are still held
  const other = await call(port, c);
  assert.equal(other.status, 200);
  assert.deepEqual(JSON.parse(other.body.toString()), { peer: c.id, bytes: 5 });
  release();
  const done = await Promise.all(held);
  assert.deepEqual(done.map((r) => r.status), [200, 200]);
  await waitFor('B slots freed', () => t.stats().inFlight[b.id] === undefined);
  assert.equal((await call(port, b)).status, 200, 'B is served again once its requests finished');
  assert.equal(t.stats().busyRefused, 1);
});

test('a peer that hangs up does not get its slot back while its handler still works', async () => {
  const { t, port, release } = await startA({ perPeerConcurrency: 1 });
  // B gives up on a slow request (its deadline closes the connection); A's handler goes on
  await assert.rejects(call(port, b, { method: 'GET', path: '/hold/1', body: undefined, deadlineMs: 500 }), (e: Error & { code?: string }) => e.code === 'E_SWARM_DEADLINE' || assert.fail(`${String(e.code)} ${e.message}`));
  await waitFor('A to see the hang-up', () => t.stats().connections === 0);
  const again = await call(port, b);
  assert.equal(again.status, 429, 'the slot is still taken by the running handler');
  assert.equal(again.error?.code, 'E_PEER_BUSY');
  release();
  await waitFor('the handler to finish', () => t.stats().inFlight[b.id] === undefined);
  assert.equal((await call(port, b)).status, 200);
});

test('connections past the total limit are closed at once; errors and unknown paths answer JSON', async () => {
  const { t, port, release } = await startA({ maxConnections: 2 });
  const held = [call(port, b, { method: 'GET', path: '/hold/1', body: undefined }), call(port, c, { method: 'GET', path: '/hold/2', body: undefined })];
  await waitFor('two connections held', () => t.stats().connections === 2 && Object.keys(t.stats().inFlight).length === 2);
  await assert.rejects(call(port, b, { deadlineMs: 10_000 }), (e: Error & { code?: string }) => e.code === 'E_SWARM_CONNECT' || assert.fail(`${String(e.code)} ${e.message}`));
  release();
  await Promise.all(held);
  await waitFor('connections closed', () => t.stats().connections === 0);
  const missing = await call(port, b, { path: '/swarm/nothing' });
  assert.equal(missing.status, 404);
  assert.equal(missing.error?.code, 'E_NOT_FOUND');
  const refused = await call(port, b, { path: '/refuse' });
  assert.equal(refused.status, 409);
  assert.deepEqual(JSON.parse(refused.body.toString()), { error: { code: 'E_STALE_TIP', message: 'the tip you sent is behind ours' } });
  const wrongMethod = await call(port, b, { method: 'GET', path: '/echo', body: undefined });
  assert.equal(wrongMethod.status, 405);
});

test('one address cannot hold more than its share of connections, even without a handshake', async () => {
  const { t, port } = await startA({ maxConnectionsPerAddress: 2 });
  // two bare TCP connections that never start TLS, from 127.0.0.1
  const idle: Socket[] = [];
  for (let i = 0; i < 2; i++) {
    const s = tcpConnect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
    s.on('error', () => {});
    idle.push(s);
  }
  await waitFor('two idle connections counted', () => t.stats().connections === 2);
  await assert.rejects(call(port, b, { localAddress: '127.0.0.1', deadlineMs: 10_000 }), (e: Error & { code?: string }) => e.code === 'E_SWARM_CONNECT' || assert.fail(`${String(e.code)} ${e.message}`));
  assert.equal(t.stats().addressRefused, 1);
  // another address is served meanwhile
  const other = await call(port, c, { localAddress: '127.0.0.2' });
  assert.equal(other.status, 200);
  for (const s of idle) s.destroy();
  await waitFor('idle connections gone', () => t.stats().connections === 0);
  assert.equal((await call(port, b, { localAddress: '127.0.0.1' })).status, 200, 'served again once they closed');
});

test('every client call has a deadline: a peer that never answers is given up on in time', async () => {
  const { port, release } = await startA();
  const t0 = Date.now();
  await assert.rejects(call(port, b, { method: 'GET', path: '/hold/9', body: undefined, deadlineMs: 1000 }), (e: Error & { code?: string }) => e.code === 'E_SWARM_DEADLINE' || assert.fail(`${String(e.code)} ${e.message}`));
  const ms = Date.now() - t0;
  console.log(`client deadline 1000 ms fired after ${ms} ms`);
  assert.ok(ms >= 950 && ms < 15_000, `${ms} ms`);
  release();
});

test('a streaming route reads a capped body stream and answers a stream into the client sink', async () => {
  const t = new SwarmTransport({ identity: a.identity, host: '127.0.0.1', port: 0 });
  let handled = 0;
  t.route(
    'POST',
    '/bundle/:pid',
    async (peer, req) => {
      handled++;
      let n = 0;
      for await (const chunk of req.stream as Readable) n += (chunk as Buffer).length;
      // the answer is streamed back: the pid, then as many bytes as were received
      return { status: 200, stream: Readable.from([Buffer.from(`${req.params.pid}:${peer.envoyId}:`), Buffer.alloc(n, 0x61)]) };
    },
    { body: 'stream', bodyLimitBytes: 256 * 1024 },
  );
  const { port } = await t.listen();
  running.push(t);
  const got: Buffer[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (got.push(c), cb()) });
  const chunks = Array.from({ length: 50 }, () => Buffer.alloc(4096, 1)); // 200 KiB, no content-length
  const r = await call(port, b, { path: '/bundle/p%2F1', body: Readable.from(chunks), sink });
  assert.equal(r.status, 200);
  assert.equal(r.body.length, 0, 'it went to the sink');
  const text = Buffer.concat(got).toString();
  assert.equal(text, `p/1:${b.id}:${'a'.repeat(50 * 4096)}`);
  // past the route's own limit the stream errors and the peer gets 413
  const over = await call(port, b, { path: '/bundle/x', body: Readable.from(Array.from({ length: 80 }, () => Buffer.alloc(4096, 1))) });
  assert.equal(over.status, 413);
  assert.equal(over.error?.code, 'E_BODY_TOO_LARGE');
  assert.equal(handled, 2);
  // a reply bigger than the caller's cap is refused by the client
  await assert.rejects(call(port, b, { path: '/bundle/y', body: Buffer.alloc(100 * 1024), maxResponseBytes: 64 * 1024 }), (e: Error & { code?: string }) => e.code === 'E_SWARM_REPLY_TOO_LARGE' || assert.fail(`${String(e.code)} ${e.message}`));
});

test('after a certificate renewal new connections see the new certificate', async () => {
  const { t, port } = await startA();
  assert.equal((await call(port, b)).peerEnvoyId, a.id);
  // stands in for A's renewed certificate: same fleet, the listener is not restarted
  const renewed = await fleet.envoy('a');
  t.updateIdentity(renewed.identity);
  const r = await call(port, b, { expectEnvoyId: renewed.id });
  assert.equal(r.status, 200);
  assert.equal(r.peerEnvoyId, renewed.id);
});

test("a spanner's bundle of bolt CAs: envoys of another bolt are peers both ways once updateIdentity takes it, and outsiders once it drops their CA", async () => {
  // a second bolt of the spanner: its own CA, its own envoy
  const bolt2 = await TestFleet.create('bolt two');
  const e2 = await bolt2.envoy('e2');
  const bundle = `${fleet.ca.cert.trim()}\n${bolt2.ca.cert.trim()}\n`;
  const { t, port, seen } = await startA();
  // before A holds the bundle: the other bolt's envoy is refused in the handshake, and A refuses to call it
  const raw = await rawTls(port, { cert: e2.identity.cert, key: e2.identity.key }, 'POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nhi');
  assert.doesNotMatch(raw.text, /HTTP\/1\.1/);
  const e2Server = new SwarmTransport({ identity: { ...e2.identity, ca: bundle }, host: '127.0.0.1', port: 0 });
  e2Server.route('POST', '/echo', (peer) => ({ status: 200, body: { peer: peer.envoyId } }));
  const { port: p2 } = await e2Server.listen();
  running.push(e2Server);
  await assert.rejects(swarmCall({ identity: a.identity, host: '127.0.0.1', port: p2, expectEnvoyId: e2.id, method: 'POST', path: '/echo', body: 'x', deadlineMs: 20_000 }), (e: Error & { code?: string }) => e.code === 'E_SWARM_PEER_UNTRUSTED' || assert.fail(`${String(e.code)} ${e.message}`));
  // A takes the bundle (the check-in's trust message): both directions now pass
  const withBundle = { ...a.identity, ca: bundle };
  t.updateIdentity(withBundle);
  const r = await swarmCall({ identity: { ...e2.identity, ca: bundle }, host: '127.0.0.1', port, expectEnvoyId: a.id, method: 'POST', path: '/echo', body: 'from e2', deadlineMs: 20_000 });
  assert.equal(r.status, 200);
  assert.equal(seen.peers.at(-1)?.envoyId, e2.id);
  const back = await swarmCall({ identity: withBundle, host: '127.0.0.1', port: p2, expectEnvoyId: e2.id, method: 'POST', path: '/echo', body: 'x', deadlineMs: 20_000 });
  assert.deepEqual(JSON.parse(back.body.toString()), { peer: a.id });
  // a bundle names CAs, not names: the rogue fleet (same CA name as ours) stays out
  await assert.rejects(call(port, outsider), (e: Error & { code?: string }) => /E_SWARM_PEER_UNTRUSTED|E_SWARM_CONNECT/.test(e.code ?? '') || assert.fail(e.message));
  // bolt two left the roster: the next bundle drops its CA, and its envoy is refused again
  t.updateIdentity(a.identity);
  const after = await rawTls(port, { cert: e2.identity.cert, key: e2.identity.key }, 'POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nhi');
  assert.doesNotMatch(after.text, /HTTP\/1\.1/, 'refused in the handshake');
});
