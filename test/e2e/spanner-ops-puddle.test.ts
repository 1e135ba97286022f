// The ops-puddle across three bolts (three vigosrv processes, own VIGO_ROOT each) and one
// standalone vigosrv, driven by the installed vigocli as an operator would: init on A,
// pair and join B and C (admin login per server; the member list reaches every bolt), wrong / expired / reused codes refused
// with nothing written on the joiner, status on a locked vault, stacks init on A (the
// import pushed into A's gitback store), stacks join on B and C (the same project id; a
// second join refused). The helpers the verbs start are real processes, ended by pid.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Fleet, waitFor } from '../server/harness.js';
import { formSpanner, type BoltSpec } from './spanner-harness.js';
import { projectId } from '../../src/trust/index.js';
import { apiRaw } from '../../src/wire/rest-client.js';

const A = new Fleet();
const B = new Fleet();
const C = new Fleet();
const plain = new Fleet();
const helpers: number[] = [];

/** bolt-c's spec: formSpanner keeps its server.yaml extra in it, for the restart below */
const boltC: BoltSpec = { fleet: C, id: 'bolt-c', mode: 'spoke', patterns: ['mq-*'] };

before(async () => {
  await formSpanner([
    { fleet: A, id: 'bolt-a', mode: 'hub', patterns: ['web-*'] },
    { fleet: B, id: 'bolt-b', mode: 'spoke', patterns: ['db-*'] },
    boltC,
  ]);
  await plain.startServer();
});
after(async () => {
  for (const pid of helpers) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  await Promise.all([A.cleanup(), B.cleanup(), C.cleanup(), plain.cleanup()]);
});

const run = (f: Fleet, args: string[]) => f.cli('vigocli.js', args);

function ok(f: Fleet, args: string[]): string {
  const r = run(f, args);
  assert.equal(r.status, 0, `vigocli ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout.toString();
}

function refused(f: Fleet, args: string[], why: RegExp): void {
  const r = run(f, args);
  assert.notEqual(r.status, 0, `vigocli ${args.join(' ')} should have failed:\n${r.stdout}`);
  assert.match(r.stderr.toString(), why);
}

const opsDir = (f: Fleet) => join(f.dataDir, 'ops-puddle');
const field = (out: string, name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(out)?.[1];
/** the helper pid each bolt's status reports, to end them by pid */
const trackHelper = (f: Fleet) => {
  const h = (JSON.parse(ok(f, ['spanner', 'ops-puddle', 'status', '--json'])) as { helper_pid: number | null }).helper_pid;
  if (h !== null && !helpers.includes(h)) helpers.push(h);
  return h;
};

function login(joiner: Fleet, inviter: Fleet): void {
  const ca = join(joiner.dir, `ca-${inviter.restPort}.crt`);
  writeFileSync(ca, inviter.admin.ca);
  ok(joiner, ['auth', 'login', '--server', inviter.restUrl, '--token', inviter.admin.token as string, '--ca', ca]);
}

function pair(f: Fleet): { code: string; from: string; out: string } {
  const out = ok(f, ['spanner', 'ops-puddle', 'pair']);
  return { code: field(out, '--code')?.trim() ?? /--code (\S+)/.exec(out)![1]!, from: /--from (\S+) \\/.exec(out)![1]!, out };
}

test('ops-puddle init, pair, join across three bolts; refusals write nothing; status on a locked vault', { timeout: 240_000 }, async () => {
  refused(A, ['spanner', 'ops-puddle', 'status'], /no ops-puddle at .*ops-puddle/);
  refused(A, ['spanner', 'ops-puddle', 'init', 'alexander4-ops'], /the secrets vault is locked[^]*vigocli secrets unlock/);
  for (const f of [A, B, C]) ok(f, ['secrets', 'unlock']);
  refused(A, ['spanner', 'ops-puddle', 'init', '.hidden'], /name/);

  const init = ok(A, ['spanner', 'ops-puddle', 'init', 'alexander4-ops', '--json']);
  const ij = JSON.parse(init) as { pubkey: string; self: string; helper: string };
  const hpA = trackHelper(A);
  assert.ok(hpA !== null, 'init started the service-account helper');
  const st = ok(A, ['spanner', 'ops-puddle', 'status']);
  assert.equal(st, `Ops-puddle\nFriendly name: alexander4-ops\nPubkey: ed25519:${ij.pubkey}\nDir: ${opsDir(A)}\nMembers (1):\n- ed25519:${ij.self} (this vigosrv)\nHelper: running (pid ${hpA})\n`);
  refused(A, ['spanner', 'ops-puddle', 'init', 'other'], /already exists/);

  // the page's pair block, with this vigosrv's URL
  const p1 = pair(A);
  assert.match(p1.code, /^[A-Za-z0-9_-]{16}$/);
  assert.equal(p1.from, A.restUrl);
  assert.match(p1.out, /^Pair offer minted \(expires \d\d:\d\d:\d\d \S+, single-use\)\nOn the joining vigosrv, run:\nvigocli spanner ops-puddle join \\\n--from /);
  assert.ok(p1.out.endsWith(`(The operator on the joining vigosrv must already have admin\ncredentials for this vigosrv — run \`vigocli auth login --server\n${A.restUrl}\` first if not.)\n`));
  assert.equal(readdirSync(opsDir(A)).includes('pending-pair'), true);
  assert.ok(!readFileSync(join(opsDir(A), 'pending-pair'), 'utf8').includes(p1.code), 'only the hash lands on disk');

  // B without admin credentials for A: refused before any claim, with the login hint
  refused(B, ['spanner', 'ops-puddle', 'join', '--from', p1.from, '--code', p1.code], new RegExp(`vigocli auth login --server ${A.restUrl.replace(/[.]/g, '\\.')}`));
  login(B, A);
  login(C, A);
  // a wrong code: refused, nothing written on B
  refused(B, ['spanner', 'ops-puddle', 'join', '--from', p1.from, '--code', 'AAAAAAAAAAAAAAAA'], /wrong pair code/);
  assert.equal(existsSync(opsDir(B)), false);
  assert.equal(existsSync(join(B.dataDir, 'puddle')), false);

  // the right code, from a file (out of argv)
  const codeFile = join(B.dir, 'code');
  writeFileSync(codeFile, p1.code + '\n', { mode: 0o600 });
  const jb = ok(B, ['spanner', 'ops-puddle', 'join', '--from', p1.from, '--code', `@${codeFile}`]);
  const bSelf = readFileSync(join(B.dataDir, 'puddle', 'identity.pub'), 'utf8').trim();
  assert.equal(jb, `Ops-puddle joined\nFriendly name: alexander4-ops\nPubkey: ed25519:${ij.pubkey}\nDir: ${opsDir(B)}\nMembers (2):\n- ed25519:${ij.self}\n- ed25519:${bSelf} (this vigosrv)\n`);
  refused(B, ['spanner', 'ops-puddle', 'join', '--from', p1.from, '--code', p1.code], /already exists/);

  // the same code replayed by C: burned, nothing written on C
  refused(C, ['spanner', 'ops-puddle', 'join', '--from', p1.from, '--code', p1.code], /already used/);
  assert.equal(existsSync(opsDir(C)), false);

  // an expired offer (its expiry moved into the past on A's disk): refused, nothing written
  pair(A);
  const pf = join(opsDir(A), 'pending-pair');
  const rec = JSON.parse(readFileSync(pf, 'utf8')) as { expires_at: number };
  const p2 = pair(A);
  writeFileSync(pf, JSON.stringify({ ...(JSON.parse(readFileSync(pf, 'utf8')) as object), expires_at: rec.expires_at - 10 * 60_000 }) + '\n', { mode: 0o600 });
  refused(C, ['spanner', 'ops-puddle', 'join', '--from', p2.from, '--code', p2.code], /expired/);
  assert.equal(existsSync(opsDir(C)), false);

  const p3 = pair(A);
  const jc = ok(C, ['spanner', 'ops-puddle', 'join', '--from', p3.from, '--code', p3.code, '--json']);
  const cj = JSON.parse(jc) as { members: string[]; self: string; helper: string };
  for (const f of [B, C]) assert.ok(trackHelper(f) !== null, 'join started the service-account helper');
  const members = (f: Fleet) => (JSON.parse(ok(f, ['spanner', 'ops-puddle', 'status', '--json'])) as { members: string[] }).members;
  assert.deepEqual(members(A), [ij.self, bSelf, cj.self]);
  assert.deepEqual(members(C), members(A));
  // B learns C from A's signed push (a bolt-to-bolt call after the claim)
  await waitFor('B lists C', () => members(B).length === 3, 60_000, 250);
  assert.deepEqual(members(B), members(A));

  // status with B's vault locked (and the master key unreadable to it: never unwrapped)
  ok(B, ['secrets', 'lock']);
  assert.match(ok(B, ['spanner', 'ops-puddle', 'status']), /^Ops-puddle\nFriendly name: alexander4-ops\n/);
  refused(B, ['spanner', 'ops-puddle', 'pair'], /the secrets vault is locked/);
  ok(B, ['secrets', 'unlock']);

  // a claim without admin credentials, and a member push without a bolt signature: refused
  const p4 = pair(A);
  const noAuth = await apiRaw<{ message: string }>({ server: A.restUrl, ca: A.admin.ca }, 'POST', '/api/v1/spanner/ops-puddle/pair-claim', { v: 1, code: p4.code, pubkey: 'e'.repeat(64) });
  assert.equal(noAuth.status, 401);
  const noBolt = await apiRaw<{ message: string }>({ server: B.restUrl, ca: B.admin.ca }, 'POST', '/api/v1/spanner/peer/ops-puddle-members', { v: 1, kind: 'ops-puddle-members', ops_pubkey: ij.pubkey, members: ['e'.repeat(64)], sig: '0'.repeat(128) });
  assert.equal(noBolt.status, 401);
  assert.deepEqual(members(A), [ij.self, bSelf, cj.self]);
  assert.deepEqual(members(B), members(A));

  // guessing: 5 wrong codes lock the offer (the right one is then refused too); 10 refused
  // claims a minute from one address block it (429), nothing added to the members
  const claim = (c: string) => apiRaw<{ code?: string }>(A.admin, 'POST', '/api/v1/spanner/ops-puddle/pair-claim', { v: 1, code: c, pubkey: 'e'.repeat(64) });
  // (the refused joins above count in the same one-minute window when they fall in it)
  const codes: (string | number)[] = [];
  for (let i = 0; i < 11 && !codes.includes(429); i++) {
    const r = await claim(`guess${String(i).padStart(11, '0')}`);
    codes.push(r.status === 429 ? 429 : (r.body.code ?? r.status));
  }
  const refusedCodes = codes.filter((c) => c !== 429);
  assert.deepEqual(refusedCodes, [...Array<string>(5).fill('E_PAIR_WRONG'), ...Array<string>(5).fill('E_PAIR_LOCKED')].slice(0, refusedCodes.length));
  assert.ok(refusedCodes.length >= 7, `blocked after ${refusedCodes.length} guesses: ${codes.join(',')}`);
  assert.equal(codes.at(-1), 429, `never blocked: ${codes.join(',')}`);
  assert.equal((await claim(p4.code)).status, 429, 'a blocked address is refused even the right code');
  assert.deepEqual(members(A), [ij.self, bSelf, cj.self]);
});

test('stacks init on A and stacks join on B and C: one project id, pushed into the gitback store, second join refused', { timeout: 240_000 }, async () => {
  refused(plain, ['spanner', 'stacks', 'init'], /standalone/);
  const pub = (JSON.parse(ok(A, ['spanner', 'ops-puddle', 'status', '--json'])) as { pubkey: string }).pubkey;
  const want = projectId(Buffer.from(pub, 'hex'), 'stacks');
  A.writeStacks({ base: 'file { path: "/tmp/x" content: "y" }\n' }, 'envoy "*" { configcrates: [base] }\n');
  const out = ok(A, ['spanner', 'stacks', 'init']);
  const short = `${want.slice(0, 8)}…${want.slice(-4)}`;
  const bytes = Number(/Auto-imported: 1 commit, (\d+) bytes/.exec(out)?.[1]);
  assert.ok(bytes > 0);
  assert.equal(
    out,
    `Stacks project founded\nURL: gitback://alexander4-ops/stacks\nProject ID: ${want}\nSource: ${A.stacksDir}\nBare repo: ${join(A.srvRoot, 'var', 'lib', 'vigo', 'swarm', 'gitback', 'projects')}/${short}.git\n` +
      `Auto-imported: 1 commit, ${bytes} bytes\nOther ops-puddle members will receive the stacks after the next push\n(landing in Slice 4 — today's init seeds the founder side only).\n`,
  );
  const bare = join(A.srvRoot, 'var', 'lib', 'vigo', 'swarm', 'gitback', 'projects', `${want}.git`);
  const log = spawnSync('git', ['--git-dir', bare, 'log', '--format=%s', 'main'], { encoding: 'utf8' });
  assert.equal(log.stdout, 'stacks init\n');
  assert.ok(existsSync(join(opsDir(A), '.vigo-gitback', want, 'tokens.json')));
  refused(A, ['spanner', 'stacks', 'init'], /already locally tracked/);

  for (const f of [B, C]) {
    const j = ok(f, ['spanner', 'stacks', 'join']);
    assert.equal(
      j,
      `Stacks project state created\nProject ID: ${want}\nState dir: ${opsDir(f)}/.vigo-gitback/${short}/\n` +
        'The gitback catch-up reactor will pull stacks bytes from a\nreachable ops-puddle member shortly (LAN multicast or cross-\nsubnet members). The stacks watcher syncs bare→.live and\nreloads on arrival.\n',
    );
    const pj = JSON.parse(readFileSync(join(opsDir(f), '.vigo-gitback', want, 'project.json'), 'utf8')) as { founder: string; scope: string; project_id: string };
    assert.deepEqual([pj.project_id, pj.founder, pj.scope], [want, pub, 'members-only']);
    refused(f, ['spanner', 'stacks', 'join'], /already locally tracked/);
  }
});

test('after a reboot (the helper gone), vigosrv starts the service-account helper at boot; ops-puddle status shows it', { timeout: 120_000 }, async () => {
  const old = trackHelper(C);
  assert.ok(old !== null, 'C runs a helper since join');
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await C.stopServer();
  process.kill(old, 'SIGTERM');
  await waitFor('the old helper is gone', () => !alive(old), 15_000);
  assert.equal(trackHelper(C), null, 'no helper answers on puddle.sock');
  await C.startServer(boltC.yaml);
  const pid = await waitFor('vigosrv started the helper', () => trackHelper(C), 30_000);
  assert.notEqual(pid, old);
  const said = new RegExp(`started the service-account puddle helper \\(pid ${pid}\\)`);
  await waitFor('vigosrv says it started the helper', () => said.test(C.srv?.out() ?? ''), 15_000);
  const st = JSON.parse(ok(C, ['spanner', 'ops-puddle', 'status', '--json'])) as { helper_pid: number | null };
  assert.equal(st.helper_pid, pid);
});
