// The root reactor under load (issue 8 item 3): one user's 3,000 valid revokes are swept
// over several ticks, each tick bounded by the per-user budget, and the per-user quota
// stops the root-owned store from growing without bound. Real files, the real sweep; the
// "user" is this test's uid (root), bound to its key by a real proof of possession.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { canonicalize, generateKeyPair, mintBootstrapToken, mintChildToken, mintLeave, mintRevoke, seedSigner, toHex, type Signer, type Token } from '../../src/trust/index.js';
import { saveProject, type ProjectConfig } from '../../src/gitback/state.js';
import { bindingMessage, writeBinding, type BindingBody } from '../../src/gitback/binding.js';
import { heldByUid } from '../../src/gitback/envelopes.js';
import { sweepOnce, type SweepLimits, type SweepOptions } from '../../src/gitback/reactor.js';
import { diskStores } from '../../src/gitback/stores/disk.js';
import { systemClock } from '../../src/platform/clock.js';
import { createTestUser, removeTestUser, userSupport, type TestUser } from '../helpers/users.js';

const dir = mkdtempSync(join(tmpdir(), 'vgt-reactor-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const uid = process.getuid?.() ?? 0;

/** The daemon's sweep over this envoy's files, on the real clock (its wall-time cap is real too). */
function sweep(o: { env: { VIGO_ROOT: string }; passwdFile: string; log: (m: string) => void } & Pick<SweepOptions, 'limits' | 'afterCheck'>) {
  return sweepOnce({ ...o, stores: diskStores(o.env, o.passwdFile, o.log), clock: systemClock });
}

/** A user (this uid) with a home, a puddle key bound to its uid, and a founded project. */
async function founder(name: string): Promise<{ env: { VIGO_ROOT: string }; passwd: string; home: string; s: Signer; root: Token; pdir: string }> {
  const vroot = join(dir, `${name}-root`);
  const home = join(dir, `${name}-home`);
  const env = { VIGO_ROOT: vroot };
  const s = seedSigner(generateKeyPair().seed);
  const pk = toHex(s.publicKey);
  mkdirSync(join(home, '.vigo-puddle'), { recursive: true, mode: 0o700 });
  writeFileSync(join(home, '.vigo-puddle', 'identity.pub'), `${pk}\n`);
  const now = Math.floor(Date.now() / 1000);
  const body: BindingBody = { v: 1, kind: 'uid-binding', uid, pubkey: pk, challenge: randomBytes(32).toString('hex'), issued_at: now };
  writeBinding(env, { v: 1, uid, user: name, pubkey: pk, bound_at: now, proof: { ...body, sig: toHex(await s.sign(bindingMessage(body))) } });
  const root = await mintBootstrapToken(s, 'load', now - 60);
  const config: ProjectConfig = {
    version: 1, project_id: root.project_id, handle: 'load', founder: pk, scope: 'swarm-wide', members: [pk],
    role: 'admin', created_at: now, cross_subnet_members: [], tombstoned_at: null, successor: null,
  };
  saveProject(join(home, '.vigo-gitback'), { config, chain: [root], delegations: [] });
  const passwd = join(dir, `${name}.passwd`);
  writeFileSync(passwd, `${name}:x:${uid}:${uid}::${home}:/bin/sh\n`);
  return { env, passwd, home, s, root, pdir: join(home, '.vigo-gitback', root.project_id) };
}

test('3,000 revokes from one user: swept over several bounded ticks, then refused at the per-user quota, naming the user', async () => {
  const u = await founder('loaduser');
  const limits: SweepLimits = { perUser: 100, perTick: 400, quotaPerUserProject: 400, maxTickMs: 250 };
  const now = Math.floor(Date.now() / 1000);
  const revokes = [];
  for (let i = 0; i < 3000; i++) revokes.push(await mintRevoke(u.s, [u.root], [], randomBytes(32).toString('hex'), null, now));
  const logs: string[] = [];
  const opts = { env: u.env, passwdFile: u.passwd, log: (m: string) => void logs.push(m), limits };
  // the CLI appends to revoke.pending and each file stays under the reader's 1 MiB: three batches of 1,000
  const ticks: { ms: number; stored: number; more: boolean }[] = [];
  for (let batch = 0; batch < 3; batch++) {
    writeFileSync(join(u.pdir, 'revoke.pending'), canonicalize(revokes.slice(batch * 1000, (batch + 1) * 1000)));
    for (let t = 0; t < 2000; t++) {
      const t0 = process.hrtime.bigint();
      const r = sweep(opts);
      ticks.push({ ms: Number(process.hrtime.bigint() - t0) / 1e6, stored: r.revokes, more: r.more });
      assert.ok(r.revokes <= limits.perUser, `a tick stores at most the per-user budget (${r.revokes})`);
      if (r.revokes > 0) assert.deepEqual(r.changedProjects, [u.root.project_id]);
      if (!r.more && !existsSync(join(u.pdir, 'revoke.pending.sweeping'))) break;
    }
  }
  const stored = ticks.reduce((n, t) => n + t.stored, 0);
  const busy = ticks.filter((t) => t.stored > 0);
  console.log(`ticks: ${ticks.length}; storing ticks: ${busy.length}; stored: ${stored}; tick ms: max ${Math.max(...ticks.map((t) => t.ms)).toFixed(1)}, median ${busy.map((t) => t.ms).sort((a, b) => a - b)[Math.floor(busy.length / 2)]!.toFixed(1)}`);
  // each tick spends one unit on the membership check, so at most perUser - 1 revokes
  assert.ok(busy.length >= Math.ceil(limits.quotaPerUserProject / (limits.perUser - 1)), `the backlog took several ticks (${busy.length})`);
  // loose: the cap is checked before each unit of work, so a tick overruns it by at most one
  // verification and write — generous for a loaded machine
  assert.ok(Math.max(...ticks.map((t) => t.ms)) < limits.maxTickMs + 3000, 'no tick runs far past its wall-time cap');
  assert.ok(ticks.some((t) => t.more), 'a capped tick says there is more');
  assert.equal(stored, limits.quotaPerUserProject, 'stored up to the quota and no further');
  assert.equal(heldByUid(join(u.env.VIGO_ROOT, 'var/lib/vigo/swarm/gitback/envelopes'), u.root.project_id, uid), 400);
  assert.equal(readdirSync(join(u.env.VIGO_ROOT, 'var/lib/vigo/swarm/gitback/envelopes', u.root.project_id, 'revokes')).length, 400);
  assert.match(logs.join('\n'), /rejected .*revoke\.pending \(from loaduser\): E_QUOTA: loaduser \(uid \d+\) holds 400 envelopes/);
  assert.ok(existsSync(join(u.pdir, 'revoke.pending.rejected')));
  // the last tick had nothing left to do
  assert.equal(sweep(opts).more, false);
});

test('the per-tick budget is shared fairly: a capped tick continues with the next user next time', async () => {
  const u = await founder('tickuser');
  const now = Math.floor(Date.now() / 1000);
  const revokes = [];
  for (let i = 0; i < 30; i++) revokes.push(await mintRevoke(u.s, [u.root], [], randomBytes(32).toString('hex'), null, now));
  writeFileSync(join(u.pdir, 'revoke.pending'), canonicalize(revokes));
  const opts = { env: u.env, passwdFile: u.passwd, log: () => undefined, limits: { perUser: 50, perTick: 11, quotaPerUserProject: 100, maxTickMs: 60_000 } };
  const first = sweep(opts);
  assert.equal(first.revokes, 10, 'one budget unit for the membership check, ten for revokes');
  assert.equal(first.more, true);
  assert.ok(existsSync(join(u.pdir, 'revoke.pending.sweeping')), 'the half-done sentinel waits for the next tick');
  let total = first.revokes;
  for (let i = 0; i < 5 && existsSync(join(u.pdir, 'revoke.pending.sweeping')); i++) total += sweep(opts).revokes;
  assert.equal(total, 30);
  assert.equal(existsSync(join(u.pdir, 'revoke.pending.sweeping')), false);

  // a machine too slow for the wall-time cap still makes progress: one revoke per tick
  writeFileSync(join(u.pdir, 'revoke.pending'), canonicalize([await mintRevoke(u.s, [u.root], [], 'aa'.repeat(32), null, now), await mintRevoke(u.s, [u.root], [], 'bb'.repeat(32), null, now)]));
  const slow = { ...opts, limits: { ...opts.limits, maxTickMs: 0 } };
  const s1 = sweep(slow);
  assert.deepEqual([s1.revokes, s1.more], [1, true]);
  const s2 = sweep(slow);
  assert.equal(s2.revokes, 1);
  assert.equal(existsSync(join(u.pdir, 'revoke.pending.sweeping')), false);
});

test('a user swaps its project directory for a symlink to another user’s: nothing outside its own tree is renamed, removed or read', { skip: userSupport() ?? false }, async () => {
  const users: TestUser[] = [];
  after(() => users.forEach(removeTestUser));
  const m = createTestUser('swapm');
  users.push(m);
  const v = createTestUser('swapv');
  users.push(v);
  const vroot = join(dir, 'swap-root');
  const pid = 'cd'.repeat(32);
  const own = (p: string, u: TestUser) => chownSync(p, u.uid, u.gid);
  const userDir = (u: TestUser) => {
    const base = join(u.home, '.vigo-gitback');
    const d = join(base, pid);
    mkdirSync(d, { recursive: true, mode: 0o700 });
    own(base, u);
    own(d, u);
    return d;
  };
  // the victim's directory: a pending leave and revoke the victim has not had swept yet
  const vdir = userDir(v);
  for (const f of ['leave.pending', 'revoke.pending']) {
    writeFileSync(join(vdir, f), `{"victim":"${f}"}`, { mode: 0o600 });
    own(join(vdir, f), v);
  }
  const before = readdirSync(vdir).sort();
  // the attacker's own directory, with a sentinel of its own so the sweep has work there
  const mdir = userDir(m);
  writeFileSync(join(mdir, 'leave.pending'), '{"attacker":true}', { mode: 0o600 });
  own(join(mdir, 'leave.pending'), m);
  const passwd = join(dir, 'swap.passwd');
  writeFileSync(passwd, `${m.name}:x:${m.uid}:${m.gid}::${m.home}:/bin/sh\n`); // only the attacker is swept
  const logs: string[] = [];
  const swapped: string[] = [];
  // between the reactor's check of the directory and its use, the attacker swaps it
  const r = sweep({
    env: { VIGO_ROOT: vroot },
    passwdFile: passwd,
    
    log: (x) => void logs.push(x),
    afterCheck: (d) => {
      if (d !== mdir) return;
      renameSync(mdir, `${mdir}.real`);
      symlinkSync(vdir, mdir);
      swapped.push(d);
    },
  });
  assert.deepEqual(swapped, [mdir], 'the swap happened mid-sweep');
  assert.deepEqual(readdirSync(vdir).sort(), before, 'the victim’s directory is untouched (nothing renamed aside, removed or rejected)');
  for (const f of ['leave.pending', 'revoke.pending']) assert.equal(readFileSync(join(vdir, f), 'utf8'), `{"victim":"${f}"}`);
  // what the sweep did, it did in the directory it had checked: the attacker's own
  assert.equal(r.rejected, 1);
  assert.ok(existsSync(join(`${mdir}.real`, 'leave.pending.rejected')), 'the attacker’s own sentinel was handled where it was checked');
  assert.doesNotMatch(logs.join('\n'), /victim/);

  // and at the next sweep the link itself is refused, naming it
  const logs2: string[] = [];
  sweep({ env: { VIGO_ROOT: vroot }, passwdFile: passwd,  log: (x) => void logs2.push(x) });
  assert.match(logs2.join('\n'), new RegExp(`skipping ${mdir}: ${mdir} is not a directory \\(symlinks are refused\\)`));
  assert.deepEqual(readdirSync(vdir).sort(), before);
  // a swapped ~/.vigo-gitback is refused the same way
  rmSync(mdir);
  renameSync(join(m.home, '.vigo-gitback'), join(m.home, 'old-gitback'));
  symlinkSync(join(v.home, '.vigo-gitback'), join(m.home, '.vigo-gitback'));
  const logs3: string[] = [];
  sweep({ env: { VIGO_ROOT: vroot }, passwdFile: passwd,  log: (x) => void logs3.push(x) });
  assert.match(logs3.join('\n'), /\.vigo-gitback is not a directory \(symlinks are refused\)/);
  assert.deepEqual(readdirSync(vdir).sort(), before);
});

test('leave.pending holds exactly one envelope: an array of two valid leaves is rejected, logged, and nothing is swept', async () => {
  const u = await founder('twoleaves');
  const now = Math.floor(Date.now() / 1000);
  // two genuine leaves of the user's own (admin) token under the project
  const child = await mintChildToken(u.s, [u.root], u.s.publicKey, 'admin', now - 30, null);
  const leaves = [await mintLeave(u.s, [u.root, child], [], now - 10), await mintLeave(u.s, [u.root, child], [], now - 5)];
  writeFileSync(join(u.pdir, 'leave.pending'), canonicalize(leaves));
  const logs: string[] = [];
  const r = sweep({ env: u.env, passwdFile: u.passwd, log: (m) => void logs.push(m) });
  assert.equal(r.leaves, 0);
  assert.equal(r.rejected, 1);
  assert.deepEqual(r.changedProjects, []);
  assert.match(logs.join('\n'), /rejected .*leave\.pending \(from twoleaves\): E_MALFORMED: leave\.pending must hold exactly one LEAVE envelope \(an object\), not an array of 2/);
  assert.equal(existsSync(join(u.env.VIGO_ROOT, 'var/lib/vigo/swarm/gitback/envelopes', u.root.project_id, 'leaves')), false);
  // one of them alone is swept, and the project's revocation set changes
  writeFileSync(join(u.pdir, 'leave.pending'), canonicalize(leaves[0]));
  const r2 = sweep({ env: u.env, passwdFile: u.passwd, log: (m) => void logs.push(m) });
  assert.equal(r2.leaves, 1);
  assert.deepEqual(r2.changedProjects, [u.root.project_id]);
  // a revoke queued before leaving is still swept: the held leave carries the leaver's chain
  writeFileSync(join(u.pdir, 'revoke.pending'), canonicalize([await mintRevoke(u.s, [u.root, child], [], 'ee'.repeat(32), null, now - 20)]));
  for (const f of ['project.json', 'tokens.json']) rmSync(join(u.pdir, f));
  const r3 = sweep({ env: u.env, passwdFile: u.passwd, log: (m) => void logs.push(m) });
  assert.equal(r3.revokes, 1, logs.join('\n'));
});
