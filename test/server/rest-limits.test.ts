// What an unauthenticated client can make the REST port do: an enrollment body is capped
// at 32 KiB, a body nested deeper than 16 levels is refused before it is built, and an
// address that keeps failing to authenticate or enroll is logged, answered 429, then cut
// off — while every other address is served as before.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { Fleet, waitFor } from './harness.js';
import { FailureLimiter, sourceKey } from '../../src/server/rest/limits.js';

const fleet = new Fleet();
after(() => fleet.cleanup());

interface Answer {
  status: number | string;
  body: { message?: string };
  headers: Record<string, string | string[] | undefined>;
}

/** One request from `from` (a loopback source address), raw body, optional bearer token. */
function post(path: string, body: string, from: string, token?: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      `${fleet.restUrl}${path}`,
      {
        method: 'POST',
        localAddress: from,
        ca: fleet.admin.ca,
        agent: false,
        timeout: 20_000,
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          let parsed: { message?: string } = {};
          try {
            parsed = JSON.parse(text) as { message?: string };
          } catch {
            /* keep {} */
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: e.code ?? 'error', body: {}, headers: {} }));
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
}

const enrollBody = (token: string) => JSON.stringify({ token, hostname: 'web-01', csr: '-----BEGIN CERTIFICATE REQUEST-----' });

test('body size, nesting depth, and failed-request blocking per source address', { timeout: 300_000 }, async () => {
  await fleet.startServer('  rest_failures_per_min: 10\n  rest_block_s: 3\ncheckin:\n  interval: 60s\n');
  const log = () => fleet.srv?.out() ?? '';

  // an enrollment is a token, a hostname and a CSR: 40 KiB is refused unread, naming the limit
  const big = await post('/api/v1/enroll', JSON.stringify({ token: 'x', hostname: 'h', csr: 'A'.repeat(40 * 1024) }), '127.0.2.1');
  assert.equal(big.status, 413);
  assert.match(big.body.message ?? '', /request body too large \(limit 32768 bytes for this endpoint\)/);
  assert.equal(big.headers.connection, 'close');

  // nesting is refused while parsing, at the 17th level, even on an authenticated route
  const deep = await post('/api/v1/auth/tokens', `{"name": ${'['.repeat(17)}${']'.repeat(17)}, "role": "viewer"}`, '127.0.0.1', fleet.admin.token);
  assert.equal(deep.status, 400);
  assert.match(deep.body.message ?? '', /request body: nested deeper than 16 levels/);
  const nested = await post('/api/v1/enroll', '['.repeat(1000), '127.0.2.1');
  assert.equal(nested.status, 400);
  assert.match(nested.body.message ?? '', /nested deeper than 16 levels/);

  // 127.0.2.2 guesses tokens: the first failure is logged, the tenth blocks it
  for (let i = 0; i < 10; i++) assert.equal((await post('/api/v1/enroll', enrollBody(`vget_guess${i}`), '127.0.2.2')).status, 401);
  await waitFor('the block in the log', () => /REST: blocking 127\.0\.2\.2 for 3 s after 10 failed requests/.test(log()));
  assert.match(log(), /REST: failed request from 127\.0\.2\.2: POST \/api\/v1\/enroll → 401 \(enrollment token not recognized/);
  assert.doesNotMatch(log(), /vget_guess/, 'a presented token never reaches the log');
  const refused = await post('/api/v1/enroll', enrollBody('vget_guess10'), '127.0.2.2');
  assert.ok(refused.status === 'ECONNRESET' || refused.status === 429, `a blocked address is cut off (got ${refused.status})`);

  // a bad API token counts too, per address: 127.0.2.3 is blocked, the operator on 127.0.0.1 is not
  for (let i = 0; i < 10; i++) assert.equal((await post('/api/v1/push', '{}', '127.0.2.3', 'vgot_wrong')).status, 401);
  await waitFor('127.0.2.3 blocked', async () => (await post('/api/v1/push', '{}', '127.0.2.3', fleet.admin.token)).status !== 200);
  assert.equal((await post('/api/v1/push', '{}', '127.0.0.1', fleet.admin.token)).status, 200);

  // the block lifts after rest_block_s; the good token works again from that address
  await waitFor('the block lifts', async () => (await post('/api/v1/push', '{}', '127.0.2.3', fleet.admin.token)).status === 200, 30_000, 250);
});

test('failures are counted per IPv4 address and per IPv6 /64, and a block ends', () => {
  assert.equal(sourceKey('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(sourceKey('2001:db8:0:1::5'), sourceKey('2001:DB8:0000:0001:aaaa:bbbb:cccc:dddd'));
  assert.notEqual(sourceKey('2001:db8:0:1::5'), sourceKey('2001:db8:0:2::5'));
  let now = 1_000_000;
  const lines: string[] = [];
  const l = new FailureLimiter({ perMinute: 3, blockMs: 10_000, log: (m) => lines.push(m), now: () => now });
  l.fail('10.0.0.1', 'POST /api/v1/enroll → 401');
  l.fail('10.0.0.1', 'POST /api/v1/enroll → 401');
  assert.equal(l.blocked('10.0.0.1'), false);
  l.fail('10.0.0.1', 'POST /api/v1/enroll → 401');
  assert.equal(l.blocked('10.0.0.1'), true);
  assert.equal(l.blocked('10.0.0.2'), false);
  assert.equal(l.retryAfterS('10.0.0.1'), 10);
  assert.equal(lines.length, 2, lines.join('\n')); // the first failure and the block; the second only counted
  now += 70_000;
  assert.equal(l.blocked('10.0.0.1'), false);
  l.fail('10.0.0.1', 'GET /api/v1/status → 401');
  assert.match(lines.join('\n'), /1 more failed request\(s\) from 10\.0\.0\.1 were not logged/);
  assert.equal(l.blocked('10.0.0.1'), false, 'a new minute starts a new count');
});
