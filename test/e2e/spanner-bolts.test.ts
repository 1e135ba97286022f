// Three bolts as three vigosrv processes (own VIGO_ROOT, own ports): the operator founds
// the spanner on A, invites and joins B and C, and every bolt lists the same roster — C's
// admission reaches B by gossip alone. A replayed, an expired and a tampered invite are
// refused and change no roster; the roster survives a restart of B; bolt-to-bolt calls
// without a roster key's signature are refused; vigocli keeps one login per server.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Fleet, bin, enrollSimulated, freePort, waitFor } from '../server/harness.js';
import { ADMIT_PATH, BOLT_KEY_WRAP_DOMAIN, GOSSIP_PATH, boltKeyFile, loadOrCreateBoltIdentity, peerCall, signAdmit } from '../../src/spanner/index.js';
import { masterKeyWrap, secretsPaths } from '../../src/server/index.js';
import { generateKeyPair, seedSigner, toHex } from '../../src/trust/index.js';

const A = new Fleet();
const B = new Fleet();
const C = new Fleet();
const plain = new Fleet();

async function spannerYaml(f: Fleet, mode: 'hub' | 'spoke', boltId: string, patterns: string[], hub?: Fleet): Promise<string> {
  if (!f.restPort) f.restPort = await freePort();
  return (
    'checkin:\n  interval: 1s\ndatabase:\n  flush_interval_ms: 200\n' +
    `spanner:\n  mode: ${mode}\n  spanner_id: acme-prod\n  bolt_id: ${boltId}\n  advertise: 127.0.0.1:${f.restPort}\n` +
    `  patterns: [${patterns.map((p) => JSON.stringify(p)).join(', ')}]\n  gossip_interval_s: 1\n` +
    (hub ? `  hub_addr: 127.0.0.1:${hub.restPort}\n` : '')
  );
}

let yamlB = '';
before(async () => {
  await A.startServer(await spannerYaml(A, 'hub', 'bolt-a', ['web-*']));
  yamlB = await spannerYaml(B, 'spoke', 'bolt-b', ['db-*'], A);
  await B.startServer(yamlB);
  await C.startServer(await spannerYaml(C, 'spoke', 'bolt-c', ['cache-*', 'mq-*'], A));
  await plain.startServer();
});
after(async () => {
  await Promise.all([A.cleanup(), B.cleanup(), C.cleanup(), plain.cleanup()]);
});

function ok(f: Fleet, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = f.cli('vigocli.js', args, env);
  assert.equal(r.status, 0, `vigocli ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

function refused(f: Fleet, args: string[], why: RegExp): void {
  const r = f.cli('vigocli.js', args);
  assert.notEqual(r.status, 0, `vigocli ${args.join(' ')} should have been refused:\n${r.stdout}`);
  assert.match(r.stderr, why);
}

interface Roster {
  spanner_id: string;
  digest: string;
  bolts: { bolt_id: string; pubkey: string; hostname: string; admitted_at: string; admitted_by: string; status: string; self: boolean }[];
}
const roster = (f: Fleet): Roster => JSON.parse(ok(f, ['spanner', 'bolt', 'list', '--json'])) as Roster;
/** what every bolt must agree on: the list without its own `self` mark */
const shared = (r: Roster) => ({ digest: r.digest, bolts: r.bolts.map(({ self: _self, ...b }) => b) });

function invite(f: Fleet, name: string, ttl = '1h'): string {
  const out = join(f.dir, `${name}.invite`);
  ok(f, ['spanner', 'bolt', 'invite', '--ttl', ttl, '--out', out]);
  assert.equal(statSync(out).mode & 0o777, 0o600, 'the invite file is mode 0600');
  return readFileSync(out, 'utf8').trim();
}

test('a standalone server says so, and a bolt without a roster says what to do', () => {
  assert.equal(ok(plain, ['spanner', 'status']), 'No spanner configured.\n');
  refused(plain, ['spanner', 'init'], /standalone/);
  assert.match(ok(B, ['spanner', 'status']), /Role: +spoke[\s\S]*Roster: +none yet/);
  refused(B, ['spanner', 'bolt', 'list'], /holds no roster yet[\s\S]*spanner init/);
  // the founder is the hub (the only key that revokes): a spoke does not found
  refused(B, ['spanner', 'init'], /founds the spanner on its hub; this server is a spoke/);
  // the bare group prints help, it does not default to list
  const bare = B.cli('vigocli.js', ['spanner', 'bolt']);
  assert.match(bare.stdout + bare.stderr, /Usage: vigocli spanner bolt[\s\S]*list[\s\S]*invite[\s\S]*join/);
  // the bolt key was made at first start, 0600, wrapped (no raw seed on disk)
  const keyFile = join(B.dataDir, 'secrets', 'spanner-bolt.key');
  assert.equal(statSync(keyFile).mode & 0o777, 0o600);
  const doc = JSON.parse(readFileSync(keyFile, 'utf8')) as { pubkey: string; sealed: string };
  assert.match(doc.pubkey, /^[0-9a-f]{64}$/);
  assert.match(JSON.parse(doc.sealed).alg as string, /AES-256-GCM/);
});

test('init on A, invite and join B and C: every bolt lists the same roster, C reaches B by gossip', async () => {
  assert.match(ok(A, ['spanner', 'init']), /Spanner founded\nBolt: +bolt-a/);
  refused(A, ['spanner', 'init'], /already holds a roster/);

  const forB = invite(A, 'b');
  assert.match(ok(B, ['spanner', 'bolt', 'join', '--from', A.restUrl, '--code', forB]), /Joined the spanner[\s\S]*bolt-b[\s\S]*by bolt-a/);
  const forC = invite(A, 'c');
  assert.match(ok(C, ['spanner', 'bolt', 'join', '--from', A.restUrl, '--code', `@${join(A.dir, 'c.invite')}`]), /Roster: +3 bolt/);
  assert.ok(forC.startsWith('vgsi1_'));

  const a = roster(A);
  assert.deepEqual(a.bolts.map((b) => [b.bolt_id, b.admitted_by, b.status]), [
    ['bolt-a', 'bolt-a', 'live'],
    ['bolt-b', 'bolt-a', 'live'],
    ['bolt-c', 'bolt-a', 'live'],
  ]);
  // B was not part of C's join: it learns of C from A's gossip, without asking
  await waitFor('bolt-c in B\'s roster by gossip', () => roster(B).bolts.length === 3, 30_000, 200);
  assert.deepEqual(shared(roster(B)), shared(a));
  assert.deepEqual(shared(roster(C)), shared(a));
  assert.match(ok(A, ['spanner', 'status']), /Role: +hub[\s\S]*3 live bolt[\s\S]*bolt-a \(this\)[\s\S]*bolt-c/);
  // per-bolt figures: A asks each peer (a signed call) for its envoy count and compliance
  await enrollSimulated(B.admin, 'db-1');
  await enrollSimulated(B.admin, 'db-2');
  const st = JSON.parse(ok(A, ['spanner', 'status', '--json'])) as { bolts: { bolt_id: string; health: string; envoys: number; latency_ms: number | null; patterns: string[] }[] };
  assert.deepEqual(st.bolts.map((b) => [b.bolt_id, b.health, b.envoys, b.patterns]), [
    ['bolt-a', 'ok', 0, ['web-*']],
    ['bolt-b', 'ok', 2, ['db-*']],
    ['bolt-c', 'ok', 0, ['cache-*', 'mq-*']],
  ]);
  for (const b of st.bolts.slice(1)) assert.ok(typeof b.latency_ms === 'number' && b.latency_ms >= 0, `latency of ${b.bolt_id} measured`);
  console.log(`spanner status from A: latency to B ${st.bolts[1]!.latency_ms} ms, to C ${st.bolts[2]!.latency_ms} ms`);
  const text = ok(A, ['spanner', 'bolt', 'list']);
  assert.match(text, /^BOLT +PUBKEY +HOSTNAME +ADMITTED +ADMITTED BY +STATUS\n/);
});

test('a replayed, an expired and a tampered invite are refused and no roster changes', async () => {
  const before = roster(A).digest;
  const extra = new Fleet();
  try {
    await extra.startServer(await spannerYaml(extra, 'spoke', 'bolt-d', ['log-*'], A));
    // replay: B's bundle was spent
    refused(extra, ['spanner', 'bolt', 'join', '--from', A.restUrl, '--code', readFileSync(join(A.dir, 'b.invite'), 'utf8').trim()], /already used/);
    // expired
    const short = invite(A, 'short', '1s');
    await new Promise((r) => setTimeout(r, 2200));
    refused(extra, ['spanner', 'bolt', 'join', '--from', A.restUrl, '--code', short], /expired/);
    // tampered: a later expiry written into a valid bundle breaks its signature
    const fresh = invite(A, 'fresh');
    const inv = JSON.parse(Buffer.from(fresh.slice('vgsi1_'.length), 'base64url').toString('utf8')) as { expires_at: number };
    inv.expires_at += 86400;
    const tampered = 'vgsi1_' + Buffer.from(JSON.stringify(inv), 'utf8').toString('base64url');
    refused(extra, ['spanner', 'bolt', 'join', '--from', A.restUrl, '--code', tampered], /signature does not verify/);
    // the wrong server for a good bundle: the CA it presents is not the one the bundle names
    refused(extra, ['spanner', 'bolt', 'join', '--from', B.restUrl, '--code', fresh], /presents CA sha256/);
    // the inviter checks again itself: a joiner that skips its own checks gets the same refusals
    const direct = async (bundle: string) => {
      const r = await A.apiRaw<{ code: string }>('POST', ADMIT_PATH, { bundle, joiner: {}, proof: '0'.repeat(128) }, { server: A.restUrl, ca: A.admin.ca });
      return `${r.status} ${r.body.code}`;
    };
    assert.equal(await direct(readFileSync(join(A.dir, 'b.invite'), 'utf8').trim()), '403 E_INVITE_USED');
    assert.equal(await direct(short), '403 E_INVITE_EXPIRED');
    assert.equal(await direct(tampered), '403 E_INVITE_SIGNATURE');
    assert.equal(await direct(fresh), '400 E_JOIN_MALFORMED');
    // the inviter down: the join says so, and the bundle is not spent
    refused(extra, ['spanner', 'bolt', 'join', '--from', 'https://127.0.0.1:1', '--code', fresh], /cannot reach https:\/\/127\.0\.0\.1:1/);
    refused(extra, ['spanner', 'bolt', 'list'], /holds no roster yet/);
    for (const f of [A, B, C]) assert.equal(roster(f).digest, before, 'the roster is unchanged');
    assert.equal(roster(A).bolts.length, 3);
    // and the bundle the failed joins carried was not spent: it still admits, once
    assert.match(ok(extra, ['spanner', 'bolt', 'join', '--from', A.restUrl, '--code', fresh]), /Roster: +4 bolt/);
    refused(C, ['spanner', 'bolt', 'join', '--from', A.restUrl, '--code', fresh], /already holds a roster/);
  } finally {
    await extra.cleanup();
  }
});

test('an invite printed to a terminal comes with a warning that it is a secret; piped, it is the bundle alone', () => {
  const piped = A.cli('vigocli.js', ['spanner', 'bolt', 'invite', '--ttl', '1m']);
  assert.equal(piped.status, 0, piped.stderr);
  assert.match(piped.stdout, /^vgsi1_[A-Za-z0-9_-]+\n$/);
  assert.equal(piped.stderr, '');
  // script(1) gives the command a pseudo-terminal
  const cmd = `${process.execPath} ${bin('vigocli.js')} spanner bolt invite --ttl 1m`;
  const tty = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, VIGO_ROOT: A.srvRoot, HOME: join(A.dir, 'home') }, encoding: 'utf8' });
  assert.equal(tty.status, 0, tty.stdout + tty.stderr);
  assert.match(tty.stdout, /warning: the invite bundle is a secret[\s\S]*vgsi1_/);
});

test('bolt-to-bolt gossip is refused without a live roster key\'s signature', async () => {
  const a = roster(A).bolts.find((b) => b.bolt_id === 'bolt-a')!;
  const msg = { v: 1, t: 'digest', spanner_id: 'acme-prod', digest: '0'.repeat(64), rows: 0 };
  const unsigned = await A.apiRaw<{ message: string }>('POST', GOSSIP_PATH, msg, { server: A.restUrl, ca: A.admin.ca });
  assert.equal(unsigned.status, 401);
  assert.match(unsigned.body.message, /X-Vigo-Bolt/);
  const stranger = seedSigner(generateKeyPair().seed);
  const r = await peerCall<{ message: string }>(stranger, 'acme-prod', { pubkey: a.pubkey, addr: A.restUrl.replace('https://', ''), ca: A.admin.ca }, 'POST', GOSSIP_PATH, msg, Math.floor(Date.now() / 1000));
  assert.equal(r.status, 401);
  assert.match(r.body.message, /not a live bolt/);
});

test('rows gossiped by a live bolt are refused when forged or signed by a key the roster does not hold', async () => {
  const before = roster(A);
  const a = before.bolts.find((b) => b.bolt_id === 'bolt-a')!;
  // B's own key, opened as vigosrv opens it: the sender is a live, pinned bolt
  const sp = secretsPaths(join(B.dataDir, 'secrets'), B.dataDir);
  const bKey = loadOrCreateBoltIdentity(boltKeyFile(sp.dir), masterKeyWrap(sp, BOLT_KEY_WRAP_DOMAIN));
  assert.equal(bKey.created, false);
  const caPem = readFileSync(join(B.dataDir, 'tls', 'ca.crt'), 'utf8').trim() + '\n';
  const fields = { spanner_id: 'acme-prod', bolt_id: 'bolt-x', hostname: 'bolt-x', peer_addr: '127.0.0.1:1', patterns: ['*'], envoy_ca_pem: caPem, admitted_at: Math.floor(Date.now() / 1000) };
  const stranger = seedSigner(generateKeyPair().seed);
  const byB = await signAdmit(bKey.signer, { ...fields, pubkey: toHex(stranger.publicKey) });
  const forged = { ...byB, patterns: ['web-*'] }; // altered after signing
  const byStranger = await signAdmit(stranger, { ...fields, pubkey: toHex(seedSigner(generateKeyPair().seed).publicKey) });
  const rows = (r: unknown[]) => ({ v: 1, t: 'rows', spanner_id: 'acme-prod', digest: '0'.repeat(64), buckets: null, more: false, rows: r });
  const peer = { pubkey: a.pubkey, addr: A.restUrl.replace('https://', ''), ca: A.admin.ca };
  for (const r of [forged, byStranger]) {
    const sent = await peerCall<{ ok: boolean }>(bKey.signer, 'acme-prod', peer, 'POST', GOSSIP_PATH, rows([r]), Math.floor(Date.now() / 1000));
    assert.equal(sent.status, 202, 'a live bolt\'s message is taken');
  }
  // give A time to merge (and gossip) anything it wrongly took
  await new Promise((r) => setTimeout(r, 2500));
  assert.deepEqual(shared(roster(A)), shared(before), 'neither row reached the roster');
  assert.equal(roster(B).digest, before.digest);
});

test('the roster survives a kill -9 and restart of B', async () => {
  const want = shared(roster(B));
  await B.stopServer('SIGKILL');
  await B.startServer(yamlB);
  assert.deepEqual(shared(roster(B)), want);
  refused(B, ['spanner', 'bolt', 'join', '--from', A.restUrl, '--code', invite(A, 'again')], /already holds a roster/);
});

test('vigocli keeps one login per server; the newest is the default; --server picks one', async () => {
  const home = join(A.dir, 'ops-home');
  const env = { HOME: home, VIGO_ROOT: join(A.dir, 'not-a-server') };
  const tokA = await A.api<{ token: string }>('POST', '/api/v1/auth/tokens', { name: 'ops-a', role: 'admin' });
  const tokC = await C.api<{ token: string }>('POST', '/api/v1/auth/tokens', { name: 'ops-c', role: 'admin' });
  ok(A, ['auth', 'login', '--server', A.restUrl, '--token', tokA.token, '--ca', join(A.dataDir, 'tls', 'ca.crt')], env);
  ok(A, ['auth', 'login', '--server', C.restUrl, '--token', tokC.token, '--ca', join(C.dataDir, 'tls', 'ca.crt')], env);
  assert.equal(statSync(join(home, '.vigocli', 'auth.json')).mode & 0o777, 0o600);
  const st = JSON.parse(ok(A, ['auth', 'status', '--json'], env)) as { server: string; name: string; logins: { server: string; default: boolean; name: string }[] };
  assert.equal(st.server, C.restUrl, 'the newest login is the default');
  assert.deepEqual(st.logins.map((l) => [l.server, l.default, l.name]), [
    [C.restUrl, true, 'ops-c'],
    [A.restUrl, false, 'ops-a'],
  ]);
  const mine = (args: string[]) => (JSON.parse(ok(A, [...args, 'spanner', 'status', '--json'], env)) as { bolt_id: string }).bolt_id;
  assert.equal(mine([]), 'bolt-c');
  assert.equal(mine(['--server', A.restUrl]), 'bolt-a');
  const r = A.cli('vigocli.js', ['--server', B.restUrl, 'spanner', 'status'], env);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`not logged in to ${B.restUrl.replace(/[.]/g, '\\.')}`));
  assert.match(ok(A, ['auth', 'logout', '--server', C.restUrl], env), /Logged out of/);
  assert.equal(mine([]), 'bolt-a');
});
