// Issue 13 item 4: routing by hostname pattern and moving envoys between bolts. Three bolts
// (vigosrv processes, own VIGO_ROOT, loopback ports) with patterns, and 30 real envoys
// (`vigo agent run`, own VIGO_ROOT). Each envoy enrolls at a random bolt (seeded; the seed
// is printed) and ends up checking in at the bolt its hostname pattern names. Then the
// operator reassigns one envoy, drains a bolt with and without --to (and is refused when
// an envoy has nowhere to go), removes bolt C from the hub (C's envoys drained first, C
// revoked everywhere, its CA trusted nowhere), and kill -9s a bolt in the middle of a
// drain: after its restart every envoy is owned by exactly one bolt. No envoy enrolls
// twice and no acknowledged run is lost.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, waitFor, type EnvoyJson } from '../server/harness.js';
import { cliAsync, cliOk, enrollAt, envoyFile, envoyIdentity, envoysOf, formSpanner, runIdsOf, type BoltSpec } from './spanner-harness.js';
import { CheckinStream, seededRandom } from '../../src/agent/index.js';

const A = new Fleet();
const B = new Fleet();
const C = new Fleet();
const E = new Fleet(); // the envoys' roots and processes (it runs no server)
const bolts: BoltSpec[] = [
  { fleet: A, id: 'bolt-a', mode: 'hub', patterns: ['web-*'] },
  { fleet: B, id: 'bolt-b', mode: 'spoke', patterns: ['db-*', 'solo-*'] },
  { fleet: C, id: 'bolt-c', mode: 'spoke', patterns: ['cache-*', 'web-*', 'db-*'] },
];
const byId = (id: string): Fleet => bolts.find((b) => b.id === id)!.fleet;

const HOSTS = [
  ...Array.from({ length: 10 }, (_, i) => `web-${String(i + 1).padStart(2, '0')}`),
  ...Array.from({ length: 9 }, (_, i) => `db-${String(i + 1).padStart(2, '0')}`),
  'solo-01',
  ...Array.from({ length: 10 }, (_, i) => `cache-${String(i + 1).padStart(2, '0')}`),
];
/** who owns each hostname: first match in bolt-id order */
const owner = new Map<string, string>(HOSTS.map((h) => [h, h.startsWith('web-') ? 'bolt-a' : h.startsWith('cache-') ? 'bolt-c' : 'bolt-b']));
const ids = new Map<string, string>();

const STACKS = { motd: 'name: motd\nresources:\n  - type: file\n    path: /etc/motd\n    content: "hello {{ .Envoy.hostname }}\\n"\n    mode: "0644"\n' };
const ENVOYS = 'envoys:\n  - match: "*"\n    configcrates: [motd]\n';

before(async () => {
  await formSpanner(bolts);
  for (const b of bolts) {
    b.fleet.writeStacks(STACKS, ENVOYS);
    cliOk(b.fleet, ['config', 'publish', '--bolt-only']);
  }
});
after(async () => {
  await Promise.all([E.cleanup(), A.cleanup(), B.cleanup(), C.cleanup()]);
});

const grpcAddr = (f: Fleet) => `127.0.0.1:${f.grpcPort}`;

/** The hostnames a bolt lists, sorted. */
async function hostsOf(f: Fleet): Promise<string[]> {
  return (await envoysOf(f)).map((e) => e.hostname).sort();
}

/** Every envoy in `hosts` checks in at `f` after `sinceMs` (it is listed there, seen since). */
async function checkedInAt(f: Fleet, hosts: string[], sinceMs: number, what: string): Promise<void> {
  await waitFor(what, async () => {
    const list = new Map((await envoysOf(f)).map((e: EnvoyJson) => [e.hostname, e]));
    return hosts.every((h) => {
      const e = list.get(h);
      return e !== undefined && e.connected && e.last_seen !== null && Date.parse(e.last_seen) >= sinceMs;
    });
  }, 120_000, 500);
}

/** Runs an envoy's owner holds; after a move the new owner must hold every one of them. */
async function runsOf(hosts: string[]): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const h of hosts) out.set(h, await runIdsOf(byId(owner.get(h)!), h));
  return out;
}

async function noRunLost(before: Map<string, Set<string>>): Promise<void> {
  for (const [h, runs] of before) {
    const now = await runIdsOf(byId(owner.get(h)!), h);
    const lost = [...runs].filter((r) => !now.has(r));
    assert.deepEqual(lost, [], `${h}: runs acknowledged before the move are at ${owner.get(h)} after it`);
  }
}

function spooledRuns(hostname: string): string[] {
  const dir = join(E.envoyRoot(hostname), 'var', 'lib', 'vigo', 'checkin', 'spool');
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(16, -5)) : [];
}

function issuerIsCaOf(certPem: string, f: Fleet): boolean {
  return new X509Certificate(certPem).verify(new X509Certificate(f.admin.ca).publicKey);
}

test('30 envoys enroll each at a random bolt and land by pattern: each checks in at its owner', async () => {
  const seed = Number(process.env.VIGO_TEST_SEED ?? Date.now() % 1_000_000);
  console.log(`routing seed ${seed} (replay with VIGO_TEST_SEED=${seed})`);
  const rnd = seededRandom(seed);
  const at = new Map(HOSTS.map((h) => [h, bolts[Math.floor(rnd() * bolts.length)]!]));
  const t0 = Date.now();
  await Promise.all(HOSTS.map(async (h) => ids.set(h, await enrollAt(E, at.get(h)!.fleet, h))));
  const routed = HOSTS.filter((h) => at.get(h)!.id !== owner.get(h)).length;
  console.log(`30 enrollments in ${Date.now() - t0} ms; ${routed} were routed to another bolt than the one they enrolled at`);
  assert.ok(routed > 0, 'some enrollments were routed bolt to bolt');
  for (const h of HOSTS) {
    const id = envoyIdentity(E, h);
    assert.equal(id.grpc_addr, grpcAddr(byId(owner.get(h)!)), `${h} checks in at its owner ${owner.get(h)}`);
    assert.equal(id.bolt_id, owner.get(h));
    assert.ok(issuerIsCaOf(envoyFile(E, h, 'envoy.crt'), byId(owner.get(h)!)), `${h}'s certificate is signed by its owner's CA`);
    assert.equal(envoyFile(E, h, 'ca.crt').split('BEGIN CERTIFICATE').length - 1, 3, `${h} trusts the CA of every live bolt`);
  }
  const t1 = Date.now();
  for (const h of HOSTS) E.startAgent(h, 'checkin:\n  interval_s: 2\n  timeout_s: 10\n');
  for (const b of bolts) {
    const mine = HOSTS.filter((h) => owner.get(h) === b.id);
    await checkedInAt(b.fleet, mine, t1, `${b.id}'s ${mine.length} envoys check in there`);
    // `envoys list` on each bolt shows exactly its envoys
    const listed = JSON.parse(cliOk(b.fleet, ['envoys', 'list', '--json'])) as { envoys: EnvoyJson[] };
    assert.deepEqual(listed.envoys.map((e) => e.hostname).sort(), [...mine].sort(), `envoys list on ${b.id}`);
  }
  console.log(`all 30 envoys checking in at their owners ${Date.now() - t1} ms after start`);
  // runs arrive at each owner
  await waitFor('a run from every envoy at its owner', async () => {
    for (const h of HOSTS) if ((await runIdsOf(byId(owner.get(h)!), h)).size === 0) return false;
    return true;
  }, 120_000, 1000);
});

test('reassign moves one envoy without re-enrollment; refusals name what is wrong', async () => {
  const h = 'web-01';
  const runs = await runsOf([h]);
  const t = Date.now();
  const out = cliOk(A, ['spanner', 'bolt', 'reassign', ids.get(h)!, '--from', 'bolt-a', '--to', 'bolt-b']);
  // what the envoy holds spooled as the move happens (not yet acknowledged anywhere) goes to bolt-b
  const spooled = spooledRuns(h);
  assert.match(out, /Reassigned envoy web-01 .* from bolt-a to bolt-b/);
  owner.set(h, 'bolt-b');
  await checkedInAt(B, [h], t, 'web-01 checks in at bolt-b');
  assert.ok(!(await hostsOf(A)).includes(h), 'bolt-a no longer lists web-01');
  const id = envoyIdentity(E, h);
  assert.equal(id.envoy_id, ids.get(h), 'same envoy id: no re-enrollment');
  assert.equal(id.grpc_addr, grpcAddr(B));
  assert.ok(issuerIsCaOf(envoyFile(E, h, 'envoy.crt'), B), 'its certificate is now signed by bolt-b\'s CA, for the same key');
  await noRunLost(runs);
  await waitFor(`web-01's ${spooled.length} spooled run(s) at bolt-b`, async () => {
    const at = await runIdsOf(B, h);
    return spooled.every((r) => at.has(r));
  }, 60_000, 500);
  console.log(`reassign: ${runs.get(h)!.size} acknowledged and ${spooled.length} spooled run(s) of web-01 are at bolt-b`);

  const refused = (args: string[], why: RegExp) => {
    const r = A.cli('vigocli.js', ['spanner', 'bolt', 'reassign', ...args]);
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(r.stderr, why);
  };
  refused(['no-such-envoy', '--from', 'bolt-a', '--to', 'bolt-b'], /no envoy no-such-envoy at bolt bolt-a/);
  refused([ids.get(h)!, '--from', 'bolt-a', '--to', 'bolt-c'], /does not own envoy .* moved to bolt bolt-b/);
  refused([ids.get('web-02')!, '--from', 'bolt-a', '--to', 'bolt-x'], /--to bolt-x is not a bolt of spanner acme-prod/);
  refused([ids.get('web-02')!, '--from', 'bolt-a', '--to', 'bolt-a'], /--to bolt-a is this bolt/);
});

test('drain: refused before anything moves when an envoy has nowhere to go; with --to, and by pattern', async () => {
  // a typed confirmation: anything else moves nothing
  const no = await cliAsync(B, ['spanner', 'bolt', 'drain', 'bolt-b'], 'yes\n');
  assert.notEqual(no.status, 0);
  assert.match(no.stderr, /Type the bolt id \(bolt-b\)[\s\S]*not confirmed/);
  // solo-* matches no other bolt: refused, naming it, and nothing moved
  const before = await hostsOf(B);
  const nowhere = await cliAsync(B, ['spanner', 'bolt', 'drain', 'bolt-b'], 'bolt-b\n');
  assert.notEqual(nowhere.status, 0);
  assert.match(nowhere.stderr, /1 envoy\(s\) match no other live bolt's patterns: solo-01; nothing was moved/);
  assert.deepEqual(await hostsOf(B), before);

  // C's envoys to B (--to)
  const cHosts = HOSTS.filter((h) => owner.get(h) === 'bolt-c');
  let runs = await runsOf(cHosts);
  let t = Date.now();
  const toB = await cliAsync(C, ['spanner', 'bolt', 'drain', 'bolt-c', '--to', 'bolt-b'], 'bolt-c\n');
  assert.equal(toB.status, 0, toB.stderr);
  assert.match(toB.stdout, new RegExp(`Drained bolt bolt-c: ${cHosts.length} envoy\\(s\\) moved`));
  for (const h of cHosts) owner.set(h, 'bolt-b');
  await checkedInAt(B, cHosts, t, 'the drained envoys check in at bolt-b');
  assert.deepEqual(await hostsOf(C), []);
  await noRunLost(runs);

  // A's envoys by pattern: web-* is C's too (the only other bolt that matches it)
  const aHosts = HOSTS.filter((h) => owner.get(h) === 'bolt-a');
  runs = await runsOf(aHosts);
  t = Date.now();
  const auto = await cliAsync(A, ['spanner', 'bolt', 'drain', 'bolt-a', '--json'], 'bolt-a\n');
  assert.equal(auto.status, 0, auto.stderr);
  const r = JSON.parse(auto.stdout) as { moved: { hostname: string; to: string }[]; pending: unknown[] };
  assert.deepEqual(r.moved.map((m) => `${m.hostname}>${m.to}`), aHosts.map((h) => `${h}>bolt-c`));
  for (const h of aHosts) owner.set(h, 'bolt-c');
  await checkedInAt(C, aHosts, t, 'the auto-routed envoys check in at bolt-c');
  assert.deepEqual(await hostsOf(A), []);
  await noRunLost(runs);
  for (const h of HOSTS) assert.equal(envoyIdentity(E, h).envoy_id, ids.get(h), `${h} kept its envoy id`);
});

test('bolt remove of C on the hub: C\'s envoys are drained first, C is revoked everywhere and its CA trusted nowhere', async () => {
  const cHosts = HOSTS.filter((h) => owner.get(h) === 'bolt-c');
  assert.ok(cHosts.length > 0);
  // a certificate bolt-c signed, kept to present after the removal
  const probe = cHosts[0]!;
  const tls = { ca: A.admin.ca, key: envoyFile(E, probe, 'envoy.key'), cert: envoyFile(E, probe, 'envoy.crt') };
  assert.ok(issuerIsCaOf(tls.cert, C));
  const tryCheckin = async (): Promise<string> => {
    const s = new CheckinStream(grpcAddr(A), tls);
    try {
      await s.checkin(0, '', 5000);
      return 'answered';
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    } finally {
      s.close();
    }
  };
  // while C is live, A's listener takes C's certificates (the TLS handshake passes; A says where the envoy is)
  assert.equal(await tryCheckin(), 'answered');
  // and a stream opened with one stays open until C is revoked
  const held = new CheckinStream(grpcAddr(A), tls);
  let cutWith = '';
  held.onClosed = (e) => (cutWith = e.message);
  await held.checkin(0, '', 5000);

  await refusedOn(B, ['spanner', 'bolt', 'remove', 'bolt-c'], 'bolt-c\n', /only the hub/);
  const runs = await runsOf(cHosts);
  const t = Date.now();
  const rm = await cliAsync(A, ['spanner', 'bolt', 'remove', 'bolt-c'], 'bolt-c\n');
  assert.equal(rm.status, 0, rm.stderr);
  assert.match(rm.stdout, new RegExp(`Drained bolt bolt-c: ${cHosts.length} envoy\\(s\\) moved[\\s\\S]*Revoked bolt bolt-c`));
  for (const h of cHosts) owner.set(h, 'bolt-a'); // web-* → bolt-a, the first other match
  // revoked on A at once and on B after a gossip round
  for (const f of [A, B, C]) {
    await waitFor('bolt-c revoked', async () => {
      const r = await f.api<{ bolts: { bolt_id: string; status: string }[] }>('GET', '/api/v1/spanner/roster');
      return r.bolts.find((b) => b.bolt_id === 'bolt-c')?.status === 'revoked';
    }, 30_000, 200);
  }
  await checkedInAt(A, cHosts, t, 'C\'s envoys check in at bolt-a');
  await noRunLost(runs);
  // A stops trusting C's CA (its check-in listener follows the roster): the same certificate is refused
  const refusedMsg = await waitFor('bolt-c\'s certificate refused at bolt-a', async () => {
    const m = await tryCheckin();
    return m !== 'answered' && m;
  }, 30_000, 500);
  console.log(`a bolt-c certificate at bolt-a after the removal: ${refusedMsg}`);
  await waitFor('the stream opened with a bolt-c certificate is cut', () => cutWith !== '', 30_000, 200);
  assert.match(cutWith, /no longer trusted/);
  held.close();
  // envoys drop C's CA from what they trust (the next check-in brings the bundle)
  await waitFor('envoys trust 2 CAs', () => HOSTS.every((h) => envoyFile(E, h, 'ca.crt').split('BEGIN CERTIFICATE').length - 1 === 2), 60_000, 500);
  // the removed bolt admits nothing and routes nothing
  await refusedOn(C, ['spanner', 'bolt', 'invite'], '', /not live|revoked/);
  const { token } = await C.api<{ token: string }>('POST', '/api/v1/enroll/tokens', {});
  // (the verb itself, once: `vigo agent enroll`)
  const enr = E.cli('vigo.js', ['agent', 'enroll', '--server', C.restUrl, '--hostname', 'cache-99'], { VIGO_ROOT: E.envoyRoot('cache-99'), VIGO_ENROLL_TOKEN: token });
  assert.notEqual(enr.status, 0);
  assert.match(enr.stderr, /removed from the spanner/);
  const r = A.cli('vigocli.js', ['spanner', 'bolt', 'reassign', ids.get('web-02')!, '--from', 'bolt-a', '--to', 'bolt-c']);
  assert.match(r.stderr, /--to bolt-c is revoked/);
});

async function refusedOn(f: Fleet, args: string[], input: string, why: RegExp): Promise<void> {
  const r = await cliAsync(f, args, input);
  assert.notEqual(r.status, 0, r.stdout);
  assert.match(r.stderr, why);
}

test('kill -9 of a bolt during a drain: after its restart every envoy is owned by exactly one bolt', async () => {
  const specB = bolts.find((b) => b.id === 'bolt-b')!;
  const oneOwner = async (what: string) =>
    waitFor(what, async () => {
      const all = [...(await hostsOf(A)), ...(await hostsOf(B)), ...(await hostsOf(C))].sort();
      return JSON.stringify(all) === JSON.stringify([...HOSTS].sort());
    }, 60_000, 500);
  const settle = async () => {
    const a = new Set(await hostsOf(A));
    for (const h of HOSTS) owner.set(h, a.has(h) ? 'bolt-a' : 'bolt-b');
  };
  const bHosts = HOSTS.filter((h) => owner.get(h) === 'bolt-b');
  assert.ok(bHosts.length >= 10, `bolt-b holds ${bHosts.length} envoys`);
  const runs = await runsOf(bHosts);

  // 1. a kill at a moment the test does not choose: in the middle of a drain to bolt-a
  const drain = cliAsync(B, ['spanner', 'bolt', 'drain', 'bolt-b', '--to', 'bolt-a'], 'bolt-b\n');
  await waitFor('the drain under way', () => /moved envoy/.test(B.srv!.out()), 60_000, 10);
  await B.stopServer('SIGKILL');
  const cut = await drain;
  const reached = new Set(await hostsOf(A));
  console.log(`killed bolt-b mid-drain (drain exit ${cut.status}): ${bHosts.filter((h) => reached.has(h)).length} of ${bHosts.length} envoys had reached bolt-a`);
  await B.startServer(specB.yaml);
  await oneOwner('every envoy owned by exactly one bolt after the restart');
  await settle();

  // 2. the kill at the worst moment, made exactly: the intent is written (phase 1), the
  // hand-over not yet sent. The restarted bolt finishes the move by itself.
  const left = HOSTS.filter((h) => owner.get(h) === 'bolt-b');
  assert.ok(left.length > 0, 'the kill left envoys on bolt-b');
  const victim = left[0]!;
  await B.stopServer('SIGKILL');
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(`${B.dataDir}/db/vigo.db`);
  db.prepare('INSERT INTO envoy_moves (envoy_id, to_bolt, started_at) VALUES (?, ?, ?)').run(ids.get(victim), 'bolt-a', Math.floor(Date.now() / 1000));
  db.close();
  await B.startServer(specB.yaml);
  await waitFor(`${victim} moved to bolt-a by the restarted bolt-b`, async () => (await hostsOf(A)).includes(victim) && !(await hostsOf(B)).includes(victim), 60_000, 300);
  await oneOwner('every envoy owned by exactly one bolt after the second restart');
  await settle();

  const t = Date.now();
  for (const id of ['bolt-a', 'bolt-b']) {
    const mine = HOSTS.filter((h) => owner.get(h) === id);
    await checkedInAt(byId(id), mine, t, `${id}'s ${mine.length} envoys check in there`);
  }
  await noRunLost(runs);
  for (const h of HOSTS) assert.equal(envoyIdentity(E, h).envoy_id, ids.get(h), `${h} never enrolled again`);
});
