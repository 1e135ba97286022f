// Per-bolt verbs on a spanner of three vigosrv bolts (A the hub, B and C spokes), each with
// real `vigo agent run` envoys enrolled directly at it. The operator asks any bolt about
// any bolt: `bolt show`, `bolt envoys` and `bolt runs` agree whichever bolt is asked (the
// ones not asked about forward the question bolt to bolt); `bolt push` asked of A reaches
// every envoy of B through their streams; forged forwarded calls are refused at the bolt
// they reach; `--spanner` views name a stopped bolt; a revoked bolt is unroutable and its
// key can no longer forward. `bolt add` prints a bolt's server.yaml on the hub only, and
// `config publish` on a bolt that tracks no stacks project is refused, naming the verbs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Fleet, waitFor, type Proc } from '../server/harness.js';
import { boltKey, cliOk, startSpanner, type SpannerBed } from '../helpers/spanner-bed.js';
import { FORWARD_HEADERS, GOSSIP_PATH, peerCall, signForward, signRevoke, spannerSection, type ForwardedAdmin } from '../../src/spanner/index.js';
import { apiRaw } from '../../src/wire/rest-client.js';
import { generateKeyPair, seedSigner, toHex, type Signer } from '../../src/trust/index.js';

const MOTD = 'name: motd\nresources:\n  - type: file\n    path: /etc/motd\n    content: "hello {{ .Envoy.hostname }}\\n"\n    mode: "0644"\n';
const ENVOYS = 'envoys:\n  - match: "*"\n    configcrates: [motd]\n';
// envoys check in on their own once an hour: a quick check-in is a push's doing
const AGENT = 'checkin:\n  interval_s: 3600\n  timeout_s: 2\n';
const HOSTS: Record<string, string[]> = { 'bolt-a': ['web-1'], 'bolt-b': ['db-1', 'db-2'], 'bolt-c': ['cache-1'] };

let bed: SpannerBed;
let A: Fleet, B: Fleet, C: Fleet;
const plain = new Fleet();
const agents: Proc[] = [];
const byId = (): Record<string, Fleet> => ({ 'bolt-a': A, 'bolt-b': B, 'bolt-c': C });

before(async () => {
  bed = await startSpanner(
    [
      { id: 'bolt-a', patterns: ['web-*'] },
      { id: 'bolt-b', patterns: ['db-*'] },
      { id: 'bolt-c', patterns: ['cache-*'] },
    ],
    '1h',
  );
  [A, B, C] = bed.bolts as [Fleet, Fleet, Fleet];
  await plain.startServer();
  for (const [id, f] of Object.entries(byId())) {
    f.writeStacks({ motd: MOTD }, ENVOYS);
    // the server's own publish endpoint (these bolts track no stacks project)
    await f.api('POST', '/api/v1/config/publish');
    for (const h of HOSTS[id]!) {
      await f.enroll(h);
      agents.push(f.startAgent(h, AGENT));
    }
  }
  for (const [id, f] of Object.entries(byId())) {
    await waitFor(`${id}'s envoys report a run`, async () => (await f.api<{ runs: unknown[] }>('GET', '/api/v1/runs')).runs.length >= HOSTS[id]!.length, 60_000, 200);
  }
});
after(async () => {
  await Promise.all([bed?.cleanup(), plain.cleanup()]);
});

const json = <T>(f: Fleet, args: string[]): T => JSON.parse(cliOk(f, [...args, '--json'])) as T;

function refused(f: Fleet, args: string[], why: RegExp): string {
  const r = f.cli('vigocli.js', args);
  assert.notEqual(r.status, 0, `vigocli ${args.join(' ')} should have been refused:\n${r.stdout}`);
  assert.match(r.stderr, why);
  return r.stderr;
}

interface Show {
  bolt_id: string;
  pubkey: string;
  patterns: string[];
  envoys: Record<string, number>;
  compliance_pct: number;
  forwarded_to: string | null;
  latency_ms: number | null;
  last_checkin: string | null;
}
interface Envoy {
  id: string;
  hostname: string;
  ip: string | null;
  revoked: boolean;
  last_seen: string | null;
  status: string;
}

test('bolt show, envoys and runs for each bolt agree whichever bolt is asked', () => {
  const latencies: string[] = [];
  for (const [id, owner] of Object.entries(byId())) {
    const answers = [A, B, C].map((asker) => ({
      asker,
      show: json<Show>(asker, ['spanner', 'bolt', 'show', id]),
      envoys: json<{ bolt_id: string; envoys: Envoy[] }>(asker, ['spanner', 'bolt', 'envoys', id]),
      runs: json<{ bolt_id: string; runs: { run_id: string; hostname: string; status: string; configcrates: number }[] }>(asker, ['spanner', 'bolt', 'runs', id]),
    }));
    for (const a of answers) {
      const local = a.asker === owner;
      assert.equal(a.show.forwarded_to, local ? null : id, 'a bolt answers for itself, forwards for the others');
      if (!local) latencies.push(`${id} asked of another bolt: ${a.show.latency_ms} ms`);
      const { forwarded_to: _f, latency_ms: _l, last_checkin: _c, ...show } = a.show;
      const { forwarded_to: _f0, latency_ms: _l0, last_checkin: _c0, ...first } = answers[0]!.show;
      assert.deepEqual(show, first, `bolt show ${id} asked of another bolt`);
      assert.deepEqual(a.envoys.envoys.map(({ last_seen: _s, ...e }) => e), answers[0]!.envoys.envoys.map(({ last_seen: _s, ...e }) => e));
      assert.deepEqual(a.runs, answers[0]!.runs);
    }
    const s = answers[0]!.show;
    assert.equal(s.bolt_id, id);
    assert.equal(s.envoys.active, HOSTS[id]!.length);
    assert.equal(s.envoys.converged, HOSTS[id]!.length, `every envoy of ${id} converged`);
    assert.equal(s.compliance_pct, 100);
    assert.deepEqual(answers[0]!.envoys.envoys.map((e) => [e.hostname, e.revoked, e.ip]), HOSTS[id]!.map((h) => [h, false, '127.0.0.1']));
    assert.deepEqual([...new Set(answers[0]!.runs.runs.map((r) => r.hostname))].sort(), HOSTS[id]);
    assert.ok(answers[0]!.runs.runs.every((r) => r.configcrates === 1));
  }
  console.log(`forwarded bolt show round trips: ${latencies.join(', ')}`);
  // the table an operator reads
  assert.match(cliOk(A, ['spanner', 'bolt', 'show', 'bolt-b']), /Bolt: +bolt-b[\s\S]*Latency: +\d+ms \(forwarded to bolt-b\)[\s\S]*Compliance: +100%[\s\S]*converged +2/);
  assert.match(cliOk(A, ['spanner', 'bolt', 'envoys', 'bolt-b']), /^HOSTNAME +ID +IP +REVOKED +LAST SEEN +STATUS\ndb-1 /);
  assert.match(cliOk(C, ['spanner', 'bolt', 'runs', 'bolt-a']), /^STARTED +RUN +ENVOY +STATUS +CONFIGCRATES +CHANGED +FAILED\n.*web-1 +(ok|changed) +1 /);
  refused(A, ['spanner', 'bolt', 'show', 'bolt-zz'], /no bolt 'bolt-zz' in this spanner's roster/);
});

test('bolt push asked of A reaches every envoy of B, and the forced check-ins arrive', async () => {
  const seen = () => new Map(json<{ envoys: Envoy[] }>(A, ['spanner', 'bolt', 'envoys', 'bolt-b']).envoys.map((e) => [e.hostname, e.last_seen]));
  const before = seen();
  const cBefore = json<{ envoys: Envoy[] }>(A, ['spanner', 'bolt', 'envoys', 'bolt-c']).envoys[0]!.last_seen;
  await new Promise((r) => setTimeout(r, 1100)); // last_seen has ms precision; make a new check-in visibly later
  const t0 = Date.now();
  const r = json<{ bolt_id: string; pushed: number; envoys: number }>(A, ['spanner', 'bolt', 'push', 'bolt-b']);
  assert.deepEqual([r.bolt_id, r.pushed, r.envoys], ['bolt-b', 2, 2]);
  await waitFor('both envoys of B check in again', () => [...seen()].every(([h, t]) => t !== null && t !== before.get(h)), 30_000, 100);
  console.log(`bolt push via A: B's 2 envoys checked in ${Date.now() - t0} ms after the push`);
  // the push went to B's envoys only
  assert.equal(json<{ envoys: Envoy[] }>(A, ['spanner', 'bolt', 'envoys', 'bolt-c']).envoys[0]!.last_seen, cBefore);
  // narrowed to one envoy, asked of C
  const one = seen();
  const n = json<{ pushed: number }>(C, ['spanner', 'bolt', 'push', 'bolt-b', '--envoy-id', 'db-2']);
  assert.equal(n.pushed, 1);
  await waitFor('db-2 checks in again', () => seen().get('db-2') !== one.get('db-2'), 30_000, 100);
  assert.equal(seen().get('db-1'), one.get('db-1'), 'db-1 was not pushed');
  // B's log names the admin C vouched for
  await waitFor('B logs the push', () => /bolt push: envoy db-2 \([0-9a-f-]+\) told to check in, by local-admin@bolt-c/.test(B.srv!.out()), 10_000).catch(() => assert.fail(`B's log:\n${B.srv!.out().split('\n').slice(-8).join('\n')}`));
  refused(A, ['spanner', 'bolt', 'push', 'bolt-b', '--envoy-id', 'nope'], /no envoy 'nope' on bolt bolt-b/);
});

/** A forwarded call signed by `by`, sent straight to `to` (what a bolt, or a forger, would send). */
async function forward(to: Fleet, by: Signer, o: { method?: string; path: string; body?: unknown; sentBody?: unknown; toKey?: string; admin?: ForwardedAdmin; at?: number; headers?: Record<string, string> }) {
  const toKey = o.toKey ?? boltKey(to).pubkey;
  const method = o.method ?? 'GET';
  const headers = o.headers ?? (await signForward(by, { spannerId: 'acme-prod', to: toKey, method, path: o.path, body: o.body, admin: o.admin ?? { name: 'ops', role: 'admin' }, nowS: o.at ?? Math.floor(Date.now() / 1000), nonce: toHex(generateKeyPair().seed.slice(0, 16)) }));
  const r = await apiRaw<{ code?: string; message?: string; pushed?: number }>({ server: to.restUrl, ca: to.admin.ca, headers }, method, o.path, 'sentBody' in o ? o.sentBody : o.body);
  return { status: r.status, code: r.body.code ?? 'ok', body: r.body, headers };
}

/** A POST with its path sent byte for byte (apiRaw, as any URL parser, would resolve dot segments first). */
function rawPost(f: Fleet, path: string, body: unknown): Promise<{ status: number; body: string }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: f.restPort, path, method: 'POST', ca: f.admin.ca, servername: 'vigosrv', headers: { authorization: `Bearer ${f.admin.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

test('forged forwarded calls are refused by the bolt they reach', async () => {
  const a = boltKey(A).signer;
  const push = { method: 'POST', path: '/api/v1/spanner/bolts/bolt-b/push', body: { envoy_id: 'db-1' } };
  // the honest call goes through
  const good = await forward(B, a, push);
  assert.deepEqual([good.status, good.body.pushed], [200, 1]);
  // replayed as it was: refused (its nonce is spent); and a stale one
  const replay = await forward(B, a, { ...push, headers: good.headers });
  assert.deepEqual([replay.status, replay.code], [401, 'E_FORWARD_REPLAY']);
  const stale = await forward(B, a, { ...push, at: Math.floor(Date.now() / 1000) - 600 });
  assert.deepEqual([stale.status, stale.code], [401, 'E_FORWARD_STALE']);
  // bad signature: A's signature with one nibble changed
  const h = await signForward(a, { spannerId: 'acme-prod', to: boltKey(B).pubkey, method: 'GET', path: '/api/v1/spanner/bolts/bolt-b', body: undefined, admin: { name: 'ops', role: 'admin' }, nowS: Math.floor(Date.now() / 1000), nonce: 'f'.repeat(32) });
  const sig = h[FORWARD_HEADERS.sig]!;
  const bad = await forward(B, a, { path: '/api/v1/spanner/bolts/bolt-b', headers: { ...h, [FORWARD_HEADERS.sig]: (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1) } });
  assert.deepEqual([bad.status, bad.code], [401, 'E_FORWARD_SIGNATURE']);
  // a sender that is not a bolt of this spanner
  const stranger = await forward(B, seedSigner(generateKeyPair().seed), push);
  assert.deepEqual([stranger.status, stranger.code], [401, 'E_FORWARD_NOT_LIVE']);
  // the body is not the one signed
  const swapped = await forward(B, a, { ...push, sentBody: { envoy_id: 'db-2' } });
  assert.deepEqual([swapped.status, swapped.code], [401, 'E_FORWARD_BODY_MISMATCH']);
  // signed for C, sent to B
  const notOurs = await forward(B, a, { ...push, toKey: boltKey(C).pubkey });
  assert.deepEqual([notOurs.status, notOurs.code], [401, 'E_FORWARD_NOT_FOR_US']);
  // a forwarded call for another bolt is never forwarded again
  const loop = await forward(B, a, { path: '/api/v1/spanner/bolts/bolt-c/envoys' });
  assert.deepEqual([loop.status, loop.code], [409, 'E_FORWARD_LOOP']);
  // the target applies the route's role rules to the admin vouched for
  const viewer = await forward(B, a, { ...push, admin: { name: 'eve', role: 'viewer' } });
  assert.deepEqual([viewer.status, viewer.code], [403, 'E_FORBIDDEN']);
  // any handler under bolts/{id}/ is forwarded without knowing it: a path no handler here serves is answered by its owner
  const unknown = await A.apiRaw<{ message: string }>('POST', '/api/v1/spanner/bolts/bolt-b/no-such-verb', {});
  assert.deepEqual([unknown.status, unknown.headers?.['x-vigo-answered-by']], [404, 'bolt-b']);
  assert.match(unknown.body.message, /no such endpoint: POST \/api\/v1\/spanner\/bolts\/bolt-b\/no-such-verb/);
  // bounded: a body over 256 KiB is not forwarded (the route's own limit, 1 MiB, let it in)
  const big = await A.apiRaw<{ code: string }>('POST', '/api/v1/spanner/bolts/bolt-b/no-such-verb', { pad: 'x'.repeat(300 * 1024) });
  assert.deepEqual([big.status, big.body.code], [413, 'E_FORWARD_TOO_LARGE']);
  // reassign is owned by its `from` bolt: asked of A, B answers (here that it has no such envoy; nothing moves)
  const reassign = await A.apiRaw<{ code: string; message: string }>('POST', '/api/v1/spanner/reassign', { envoy_id: 'no-such-envoy', from: 'bolt-b', to: 'bolt-a' });
  assert.deepEqual([reassign.status, reassign.body.code, reassign.headers?.['x-vigo-answered-by']], [404, 'E_ENVOY_UNKNOWN', 'bolt-b']);
  assert.match(reassign.body.message, /no envoy no-such-envoy at bolt bolt-b/);
  // a path that URL parsing would rewrite on the way is not forwarded
  const dots = await rawPost(A, '/api/v1/spanner/bolts/bolt-b/%2e%2e/%2e%2e/%2e%2e/auth/tokens', { name: 'x', role: 'admin' });
  assert.deepEqual([dots.status, (JSON.parse(dots.body) as { code: string }).code], [400, 'E_BAD_PATH']);
  // forwarding headers open no other route: a token mint still needs a bearer token
  const other = await forward(B, a, { method: 'POST', path: '/api/v1/auth/tokens', body: { name: 'x', role: 'admin' } });
  assert.equal(other.status, 401);
  assert.match(B.srv!.out(), /refused a forwarded POST \/api\/v1\/spanner\/bolts\/bolt-b\/push: E_FORWARD_REPLAY/);
});

test('bolt add prints a new bolt\'s server.yaml and the hub\'s spanner block, on the hub only', () => {
  const out = join(A.dir, 'bolt-d.yaml');
  const r = json<{ bolt_yaml: string; hub_block: string; next: string[] }>(A, ['spanner', 'bolt', 'add', 'bolt-d', '--addr', '10.0.0.9:8443', '--patterns', 'log-*,mq-*', '--output', out]);
  const doc = parse(readFileSync(out, 'utf8')) as { server: { api_listen: string }; spanner: unknown };
  assert.equal(doc.server.api_listen, ':8443');
  // the same schema vigosrv reads server.yaml with
  const s = spannerSection.parse(doc.spanner);
  assert.deepEqual([s.mode, s.spanner_id, s.bolt_id, s.advertise, s.patterns, s.hub_addr], ['spoke', 'acme-prod', 'bolt-d', '10.0.0.9:8443', ['log-*', 'mq-*'], `127.0.0.1:${A.restPort}`]);
  const hub = spannerSection.parse((parse(r.hub_block) as { spanner: unknown }).spanner);
  assert.deepEqual(hub.bolts, [{ id: 'bolt-d', addr: '10.0.0.9:8443', patterns: ['log-*', 'mq-*'] }]);
  assert.match(r.next.join('\n'), /bolt invite[\s\S]*bolt join --from https:\/\/127\.0\.0\.1:\d+ --code @bolt-d\.invite/);
  assert.match(cliOk(A, ['spanner', 'bolt', 'add', 'bolt-e', '--addr', '10.0.0.10:8443', '--patterns', 'db-*']), /# --- server.yaml for bolt-e ---[\s\S]*mode: spoke[\s\S]*# --- add to the hub's server.yaml ---[\s\S]*already owned by bolt-b/);
  refused(B, ['spanner', 'bolt', 'add', 'bolt-d', '--addr', '10.0.0.9:8443', '--patterns', 'log-*'], /bolt add runs on the hub; this server is a spoke/);
  refused(plain, ['spanner', 'bolt', 'add', 'bolt-d', '--addr', '10.0.0.9:8443', '--patterns', 'log-*'], /bolt add runs on the hub; this server is standalone/);
  refused(A, ['spanner', 'bolt', 'add', 'bolt-c', '--addr', '10.0.0.9:8443', '--patterns', 'log-*'], /already in the roster/);
  refused(A, ['spanner', 'bolt', 'add', 'bolt-f', '--addr', '0.0.0.0:8443', '--patterns', 'log-*'], /spanner\.advertise: must be a lowercase HOST:PORT/);
});

test('config publish on a bolt without a stacks project publishes nothing and names stacks init/join; --bolt-only publishes to that bolt alone', async () => {
  const v = (await B.api<{ version: number }>('GET', '/api/v1/config/version')).version;
  refused(B, ['config', 'publish'], /bolt bolt-b of spanner acme-prod tracks no stacks project yet[\s\S]*nothing was published[\s\S]*spanner stacks init[\s\S]*--bolt-only/);
  assert.equal((await B.api<{ version: number }>('GET', '/api/v1/config/version')).version, v);
  // --bolt-only is the operator saying "this bolt alone": B publishes, A does not move
  const a = (await A.api<{ version: number }>('GET', '/api/v1/config/version')).version;
  assert.match(cliOk(B, ['config', 'publish', '--bolt-only']), /Published config version \d+ \(\d+ files\) to bolt bolt-b only/);
  assert.equal((await B.api<{ version: number }>('GET', '/api/v1/config/version')).version, v + 1);
  assert.equal((await A.api<{ version: number }>('GET', '/api/v1/config/version')).version, a);
});

test('--spanner views merge every bolt and name a stopped one; a revoked bolt is unroutable', async () => {
  const all = json<{ envoys: (Envoy & { bolt_id: string })[]; missing: string[] }>(B, ['envoys', 'list', '--spanner']);
  assert.deepEqual(all.missing, []);
  assert.deepEqual(all.envoys.map((e) => [e.hostname, e.bolt_id]), [['cache-1', 'bolt-c'], ['db-1', 'bolt-b'], ['db-2', 'bolt-b'], ['web-1', 'bolt-a']]);
  const runs = json<{ runs: { hostname: string; bolt_id: string }[]; missing: string[] }>(B, ['runs', 'list', '--spanner']);
  assert.deepEqual([...new Set(runs.runs.map((r) => r.bolt_id))].sort(), ['bolt-a', 'bolt-b', 'bolt-c']);
  const st = json<{ totals: { active: number; converged: number }; missing: string[] }>(C, ['server', 'status', '--spanner']);
  assert.deepEqual([st.totals.active, st.missing], [4, []]);
  assert.match(cliOk(A, ['server', 'status', '--spanner']), /3 of 3 live bolt\(s\) answered[\s\S]*BOLT +ENVOYS[\s\S]*bolt-b +2/);

  // a hung bolt (stopped with SIGSTOP: it takes connections and never answers) costs the deadline, not a hang
  C.srv!.child.kill('SIGSTOP');
  try {
    const t1 = Date.now();
    const hung = json<{ missing: string[]; bolts: { bolt_id: string; error: string | null }[]; envoys: unknown[] }>(A, ['envoys', 'list', '--spanner']);
    const ms = Date.now() - t1;
    console.log(`envoys list --spanner with bolt-c hung answered in ${ms} ms: ${hung.bolts.find((b) => b.bolt_id === 'bolt-c')?.error}`);
    assert.deepEqual([hung.missing, hung.envoys.length], [['bolt-c'], 3]);
    assert.ok(ms < 20_000, `the merged view waited ${ms} ms (deadline 5 s a bolt)`);
  } finally {
    C.srv!.child.kill('SIGCONT');
  }

  await C.stopServer();
  const t0 = Date.now();
  const part = A.cli('vigocli.js', ['envoys', 'list', '--spanner']);
  assert.equal(part.status, 0, part.stderr);
  assert.match(part.stdout, /db-2 +[0-9a-f-]+ +bolt-b[\s\S]*web-1 +[0-9a-f-]+ +bolt-a/);
  assert.doesNotMatch(part.stdout, /cache-1/);
  assert.match(part.stderr, /1 bolt\(s\) did not answer, their envoys are missing: bolt-c \(/);
  console.log(`envoys list --spanner with bolt-c stopped answered in ${Date.now() - t0} ms`);
  assert.deepEqual(json<{ missing: string[] }>(A, ['runs', 'list', '--spanner']).missing, ['bolt-c']);
  assert.match(cliOk(A, ['server', 'status', '--spanner']), /2 of 3 live bolt\(s\) answered[\s\S]*bolt-c +no answer/);
  refused(A, ['spanner', 'bolt', 'show', 'bolt-c'], /bolt 'bolt-c' at 127\.0\.0\.1:\d+ did not answer/);

  // the hub revokes C (a founder-signed revoke row, gossiped to B); C's key then forwards nothing
  const cKey = boltKey(C);
  const row = await signRevoke(boltKey(A).signer, { spanner_id: 'acme-prod', pubkey: cKey.pubkey, revoked_at: Math.floor(Date.now() / 1000), reason: 'test' });
  const msg = { v: 1, t: 'rows', spanner_id: 'acme-prod', digest: '0'.repeat(64), buckets: null, more: false, rows: [row] };
  const sent = await peerCall(boltKey(A).signer, 'acme-prod', { pubkey: boltKey(B).pubkey, addr: `127.0.0.1:${B.restPort}`, ca: B.admin.ca }, 'POST', GOSSIP_PATH, msg, Math.floor(Date.now() / 1000));
  assert.equal(sent.status, 202);
  await waitFor('bolt-c revoked on B', () => json<{ bolts: { bolt_id: string; status: string }[] }>(B, ['spanner', 'bolt', 'list']).bolts.find((b) => b.bolt_id === 'bolt-c')?.status === 'revoked', 20_000, 200);
  refused(B, ['spanner', 'bolt', 'envoys', 'bolt-c'], /bolt 'bolt-c' is revoked: it is unroutable for admin queries/);
  const fromC = await forward(B, cKey.signer, { path: '/api/v1/spanner/bolts/bolt-b/envoys' });
  assert.deepEqual([fromC.status, fromC.code], [401, 'E_FORWARD_NOT_LIVE']);
  // a revoked bolt is no longer asked (nor reported missing)
  assert.deepEqual(json<{ missing: string[]; bolts: { bolt_id: string }[] }>(B, ['envoys', 'list', '--spanner']).bolts.map((b) => b.bolt_id), ['bolt-a', 'bolt-b']);
  for (const p of agents) assert.equal(p.child.exitCode, null, 'agents kept running');
});
