// gitback replication across three envoys in three netns hosts, each a real process
// running the replication runtime (SwarmNode + Announcer) with its own VIGO_ROOT, its own
// enrollment certificate from one fleet CA and a real bare repo. An operator's story: a
// push on A reaches B and C (found by multicast, no static peer list) and D (which
// multicast does not reach: listed in A's cross_subnet_members, its id learned from its
// certificate), and clones there to the same tips; C, down while a push fans out, converges after its restart with no new
// push; and a fourth host, mallory, tries what a hostile or broken peer would — each
// refused with the receiver's refs, objects and files unchanged.
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { netnsUnavailable, useNetnsBed } from '../helpers/netns.js';
import { TestFleet, writeIdentityDir, type TestEnvoy } from './transport-fleet.js';
import { projectFixture, seedOf, signer, type ProjectFixture } from './fixtures.js';
import { signManifest, type Manifest, type RefUpdate, type SignedUpdate } from '../../src/swarm/index.js';
import type { RuntimeConfig } from './runtime-peer.js';
import { diskOf, git, refsOf, runtimePeerJs, startRuntime, until as untilOr, type Reply, type RuntimeProc } from './runtime-bed.js';

const skip = netnsUnavailable();
const peerJs = runtimePeerJs;
const PORT = 1531;
const GROUP = '239.77.15.31';
const ANNOUNCE_PORT = 15310;
const BODY_LIMIT = 4 * 1024 * 1024;

interface RawResult {
  ok: boolean;
  status?: number;
  body?: { accepted?: boolean; error?: { code: string; message: string } };
  error?: { code: string; message: string } | null;
  code?: string;
  message?: string;
}

describe('gitback replication runtime across netns hosts', { skip: skip ?? false }, () => {
  const bed = useNetnsBed(['a', 'b', 'c', 'd', 'm']);
  const work = mkdtempSync(join(tmpdir(), 'vigo-runtime-test-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  let fx: ProjectFixture;
  let fleet: TestFleet;
  const ids: Record<string, TestEnvoy> = {};
  const idDirs: Record<string, string> = {};
  const cfgPaths: Record<string, string> = {};
  const procs: Record<string, RuntimeProc> = {};
  let otherCaDir = '';
  let foreignClientDir = '';
  const baseOf = (h: string): string => join(bed().host(h).vigoRoot, 'var/lib/vigo/swarm/gitback');
  const repoOf = (h: string): string => join(baseOf(h), 'projects', `${fx.pid}.git`);
  const src = join(work, 'src');
  let seq = 0;
  const updates: SignedUpdate[] = [];

  before(async () => {
    fx = await projectFixture();
    fleet = await TestFleet.create();
    mkdirSync(join(work, 'cfg'), { mode: 0o700 });
    writeFileSync(join(work, 'cfg', 'seed'), Buffer.from(seedOf('alice')).toString('hex'), { mode: 0o600 });
    writeFileSync(join(work, 'cfg', 'chain'), fx.aliceChain, { mode: 0o600 });
    writeFileSync(join(work, 'cfg', 'other-chain'), fx.otherAliceChain, { mode: 0o600 });
    for (const h of ['a', 'b', 'c', 'd', 'm']) {
      ids[h] = await fleet.envoy(h);
      idDirs[h] = writeIdentityDir(ids[h], work);
      const cfg: RuntimeConfig = {
        identityDir: idDirs[h],
        envoyId: ids[h].id,
        host: bed().host(h).addr,
        port: PORT,
        base: baseOf(h),
        projectsDir: join(baseOf(h), 'projects'),
        group: GROUP,
        announcePort: ANNOUNCE_PORT,
        intervalMs: 1000,
        tickMs: 3000,
        pushBodyLimitBytes: BODY_LIMIT,
        seedFile: join(work, 'cfg', 'seed'),
        chainFile: join(work, 'cfg', 'chain'),
        // D announces nothing and hears nothing: A knows it only from project.json's cross_subnet_members
        projects: [{ pid: fx.pid, handle: 'vigo-web', scope: 'swarm-wide', ...(h === 'a' ? { crossSubnet: [`${bed().host('d').addr}:${PORT}`] } : {}) }],
        ...(h === 'd' ? { announce: false } : {}),
      };
      cfgPaths[h] = join(work, 'cfg', `${h}.json`);
      writeFileSync(cfgPaths[h], JSON.stringify(cfg), { mode: 0o600 });
    }
    const other = await (await TestFleet.create('vigo fleet')).envoy('m');
    otherCaDir = writeIdentityDir(other, work);
    // the same foreign certificate, but trusting this fleet's CA: B's server must refuse it in the handshake
    foreignClientDir = writeIdentityDir({ id: other.id, identity: { ...other.identity, ca: ids.m!.identity.ca } }, work);
    git(['init', '--quiet', '-b', 'main', src]);
    await Promise.all(['a', 'b', 'c', 'd'].map((h) => start(h)));
  });

  async function start(h: string): Promise<void> {
    procs[h] = await startRuntime(bed(), h, cfgPaths[h]!);
  }

  /** A real commit and `git push` into A's bare repo, then the runtime's localPush with a signed manifest. */
  async function pushOnA(file: string): Promise<Record<string, string>> {
    writeFileSync(join(src, file), `${file}\n`);
    git(['add', file], src);
    git(['commit', '--quiet', '-m', file], src);
    const repo = repoOf('a');
    if (!existsSync(repo)) git(['init', '--bare', '--quiet', repo]);
    const before = refsOf(repo);
    git(['push', '--quiet', repo, 'main'], src);
    const after = refsOf(repo);
    const refs: RefUpdate[] = Object.keys(after)
      .filter((r) => before[r] !== after[r])
      .map((r) => ({ ref: r, old: before[r] ?? null, new: after[r]! }));
    const r = await procs.a!.cmd({ cmd: 'push', pid: fx.pid, refs, seq: ++seq });
    assert.ok(r.ok, r.error);
    updates.push(r.update as SignedUpdate);
    return after;
  }

  const until = (what: string, ms: number, f: () => Promise<boolean> | boolean): Promise<number> =>
    untilOr(what, ms, f, async () => (await Promise.all(Object.entries(procs).map(async ([h, p]) => `${h}: ${JSON.stringify(await p.cmd({ cmd: 'status', pid: fx.pid }))}\n${p.stderr.slice(-3000)}`))).join('\n'));

  test('a push on A reaches B and C through multicast discovery, D through cross_subnet_members, and all clone to the same tips', { timeout: 180_000 }, async () => {
    const tips = await pushOnA('one.txt');
    const ms = await until('B, C and D hold the push', 90_000, () => ['b', 'c', 'd'].every((h) => JSON.stringify(refsOf(repoOf(h))) === JSON.stringify(tips)));
    console.log(`push on A held by B, C and D ${ms} ms after localPush (announce 1 s, tick 3 s)`);
    // D was called by address; the id A records for it is the one D's certificate proved
    // (recorded when D's answer reaches A, which may be just after D moved its refs)
    const dKey = `${bed().host('d').addr}:${PORT}`;
    await until("A records D's envoy id", 30_000, async () => ((await procs.a!.cmd({ cmd: 'status', pid: fx.pid })).peerIds as Record<string, string | null>)[dKey] !== null);
    const sa = await procs.a!.cmd({ cmd: 'status', pid: fx.pid });
    assert.equal((sa.peerIds as Record<string, string | null>)[dKey], ids.d!.id, `A learned D's envoy id: ${JSON.stringify(sa.peerIds)}`);
    const sd = await procs.d!.cmd({ cmd: 'status', pid: fx.pid });
    assert.deepEqual(sd.envoys, [], 'D hears no announces: only the cross-subnet entry reached it');
    const cloneD = join(work, 'clone-d');
    git(['clone', '--quiet', repoOf('d'), cloneD]);
    assert.equal(git(['rev-parse', 'HEAD'], cloneD), tips['refs/heads/main']);
    for (const h of ['b', 'c']) {
      const st = await procs[h]!.cmd({ cmd: 'status', pid: fx.pid });
      assert.ok((st.envoys as string[]).includes(`${bed().host('a').addr}:${PORT}`), `${h} heard A's presence: ${JSON.stringify(st)}`);
      const clone = join(work, `clone-${h}`);
      git(['clone', '--quiet', repoOf(h), clone]);
      assert.equal(git(['rev-parse', 'HEAD'], clone), tips['refs/heads/main']);
      assert.equal(readFileSync(join(clone, 'one.txt'), 'utf8'), 'one.txt\n');
    }
    // the world-readable cache of what peers announce
    await until('B writes gitback-announced.json naming A', 30_000, () => {
      const p = join(baseOf('b'), 'gitback-announced.json');
      if (!existsSync(p)) return false;
      const j = JSON.parse(readFileSync(p, 'utf8')) as { projects: Array<{ project_id: string; hosts: string[] }> };
      return (statSync(p).mode & 0o777) === 0o644 && j.projects.some((x) => x.project_id === fx.pid && x.hosts.includes(bed().host('a').addr));
    });
  });

  test('C, down while a push fans out, converges after its restart with no new push', { timeout: 180_000 }, async () => {
    // git's refs move just before the replica state is saved: kill C only once it has recorded them
    await until('C recorded what it holds', 30_000, async () => JSON.stringify((await procs.c!.cmd({ cmd: 'status', pid: fx.pid })).tips) === JSON.stringify(refsOf(repoOf('c'))));
    await procs.c!.kill();
    const tips = await pushOnA('two.txt');
    await until('B holds the second push', 90_000, () => JSON.stringify(refsOf(repoOf('b'))) === JSON.stringify(tips));
    assert.notEqual(refsOf(repoOf('c'))['refs/heads/main'], tips['refs/heads/main'], 'C was down: it cannot have the push yet');
    const t0 = Date.now();
    await start('c');
    await until('C converges after restart', 90_000, () => JSON.stringify(refsOf(repoOf('c'))) === JSON.stringify(tips));
    console.log(`C converged ${Date.now() - t0} ms after its restart (${((Date.now() - t0) / 3000).toFixed(1)} catch-up ticks of 3 s), no new push`);
    // what C remembers survived the kill: the first push, sent again, is a replay there
    const hf = join(work, 'replay-c.json');
    writeFileSync(hf, JSON.stringify({ v: 1, exact: true, updates: [updates[0]] }));
    const r = await bed().exec('m', [process.execPath, peerJs, 'raw', idDirs.m!, bed().host('c').addr, String(PORT), ids.c!.id, fx.pid, hf, '-']);
    const replay = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{')) ?? '{}') as RawResult;
    assert.deepEqual([replay.status, replay.body?.error?.code], [409, 'E_MANIFEST_REPLAY'], `replay to the restarted C: ${r.stdout} ${r.stderr}`);
    // only the push bundle of the update the tip comes from is kept on A
    const kept = readdirSync(join(baseOf('a'), 'replica', 'bundles')).filter((n) => n.endsWith('.bundle'));
    assert.deepEqual(kept, [`${updates[1]!.manifest.bundle_sha256}.bundle`]);
    const clone = join(work, 'clone-c2');
    git(['clone', '--quiet', repoOf('c'), clone]);
    assert.equal(readFileSync(join(clone, 'two.txt'), 'utf8'), 'two.txt\n');
  });

  test('announces: an oversized, a malformed and a spoofed datagram are counted and ignored', { timeout: 120_000 }, async () => {
    const spoofPid = 'ab'.repeat(32);
    const dgrams: Array<[string, Buffer]> = [
      ['oversized', Buffer.alloc(1500, 0x41)],
      ['malformed', Buffer.from(`GITBACKPROJECT:${bed().host('m').addr}:not-a-pid\n`)],
      // from mallory's address, naming A's: someone trying to route A's project to itself, or A's to nowhere
      ['spoofed', Buffer.from(`GITBACKPROJECT:${bed().host('a').addr}:${spoofPid}:vigo-web:swarm-wide\n`)],
    ];
    const before = (await procs.b!.cmd({ cmd: 'status', pid: spoofPid })).announcer as Record<string, number>;
    for (const [name, d] of dgrams) {
      const f = join(work, `dgram-${name}`);
      writeFileSync(f, d);
      const r = await bed().exec('m', [process.execPath, peerJs, 'udp', GROUP, String(ANNOUNCE_PORT), bed().host('m').addr, f]);
      assert.match(r.stdout, /"ok":true/, r.stderr);
    }
    let st: Reply | undefined;
    await until('B counted the three datagrams', 30_000, async () => {
      st = await procs.b!.cmd({ cmd: 'status', pid: spoofPid });
      const c = st.announcer as Record<string, number>;
      return c.oversized! > before.oversized! && c.malformed! > before.malformed! && c.spoofed! > before.spoofed!;
    });
    const c = st!.announcer as Record<string, number>;
    console.log(`B's announcer: ${JSON.stringify(c)}`);
    assert.deepEqual(st!.peers, [], 'the spoofed line nominated no peer for its project');
  });

  describe('what a hostile or broken peer sends B is refused with nothing changed on B', () => {
    let tip = '';
    let x = '';
    let y = '';
    let good = '';
    const files = (n: string): string => join(work, n);

    /** scratch files a push makes (its streamed body); a refusal must remove them before it answers */
    const leftovers = (): string[] => readdirSync(join(baseOf('b'), 'replica', 'quarantine')).filter((n) => n.startsWith('push-'));

    async function raw(head: unknown, body: string | null, dir = idDirs.m!): Promise<RawResult> {
      const hf = files(`head-${Math.random().toString(36).slice(2)}.json`);
      writeFileSync(hf, JSON.stringify(head));
      const r = await bed().exec('m', [process.execPath, peerJs, 'raw', dir, bed().host('b').addr, String(PORT), ids.b!.id, fx.pid, hf, body ?? '-']);
      const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
      assert.ok(line, `no result from mallory: ${r.stderr}`);
      return JSON.parse(line) as RawResult;
    }

    /** `code` is what B answers — a 413 too: the sender reads it, not an EPIPE, and does not send again. */
    async function refused(what: string, head: unknown, body: string | null, code: string, dir?: string): Promise<void> {
      const before = { refs: refsOf(repoOf('b')), objects: git(['--git-dir', repoOf('b'), 'count-objects', '-v']), disk: diskOf(baseOf('b')) };
      const r = await raw(head, body, dir);
      const got = r.ok ? (r.body?.error?.code ?? r.error?.code) : r.code;
      console.log(`${what}: ${r.ok ? `HTTP ${r.status} ` : ''}${String(got)} ${r.ok ? (r.body?.error?.message ?? '') : (r.message ?? '')}`);
      assert.equal(got, code, `${what}: ${JSON.stringify(r)}`);
      if (r.ok) assert.notEqual(r.body?.accepted, true);
      assert.deepEqual(leftovers(), [], `${what}: the refused push left nothing in quarantine`);
      const after = { refs: refsOf(repoOf('b')), objects: git(['--git-dir', repoOf('b'), 'count-objects', '-v']), disk: diskOf(baseOf('b')) };
      assert.deepEqual(after, before, `${what}: B's refs, objects and files are unchanged`);
    }

    const manifest = (refs: RefUpdate[], s: number, sha: string): Promise<Manifest> =>
      signManifest({ v: 1, kind: 'gitback-manifest', project_id: fx.pid, envoy: ids.a!.id, pusher: Buffer.from(signer('alice').publicKey).toString('hex'), seq: s, scope: 'swarm-wide', bundle_sha256: sha, refs }, signer('alice'));

    before(() => {
      tip = refsOf(repoOf('b'))['refs/heads/main']!;
      const evil = files('evil');
      git(['clone', '--quiet', repoOf('b'), evil]);
      writeFileSync(join(evil, 'x.txt'), 'x\n');
      git(['add', 'x.txt'], evil);
      git(['commit', '--quiet', '-m', 'x'], evil);
      x = git(['rev-parse', 'HEAD'], evil);
      good = files('good.bundle');
      git(['bundle', 'create', '--quiet', good, 'main', `^${tip}`], evil);
      git(['checkout', '--quiet', '-b', 'other', tip], evil);
      writeFileSync(join(evil, 'y.txt'), 'y\n');
      git(['add', 'y.txt'], evil);
      git(['commit', '--quiet', '-m', 'y'], evil);
      y = git(['rev-parse', 'HEAD'], evil);
      git(['branch', '--quiet', '-f', 'main', y], evil);
      git(['checkout', '--quiet', 'main'], evil);
      git(['bundle', 'create', '--quiet', files('wrong.bundle'), 'main', `^${tip}`], evil);
      const g = readFileSync(good);
      writeFileSync(files('truncated.bundle'), g.subarray(0, Math.floor(g.length * 0.6)));
      writeFileSync(files('oversized.bundle'), Buffer.alloc(BODY_LIMIT + 512 * 1024, 7));
      // under the limit, and large enough that the sender is still writing when a refusal is decided
      writeFileSync(files('large.body'), Buffer.alloc(BODY_LIMIT - 512 * 1024, 9));
    });

    test('forged, replayed, foreign-chain, oversized, truncated, mismatched and other-CA pushes; then a good one lands', { timeout: 240_000 }, async () => {
      const move = [{ ref: 'refs/heads/main', old: tip, new: x }];
      const sha = createHash('sha256').update(readFileSync(good)).digest('hex');
      const genuine = await manifest(move, 100, sha);

      const forged = { ...genuine, refs: [{ ref: 'refs/heads/main', old: tip, new: y }] };
      await refused('forged manifest (refs altered after signing)', { v: 1, exact: false, updates: [{ manifest: forged, chain: fx.aliceChain }] }, files('wrong.bundle'), 'E_MANIFEST_SIGNATURE');

      const replay = updates[updates.length - 1]!;
      await refused('replayed manifest (the last push, again)', { v: 1, exact: true, updates: [replay] }, good, 'E_MANIFEST_REPLAY');
      // refused from the JSON line while 3.5 MiB are still on their way: the sender reads the refusal, not EPIPE
      await refused('replayed manifest with a large body', { v: 1, exact: true, updates: [replay] }, files('large.body'), 'E_MANIFEST_REPLAY');

      await refused('chain for another project', { v: 1, exact: true, updates: [{ manifest: genuine, chain: fx.otherAliceChain }] }, good, 'E_MANIFEST_CHAIN');
      const get = await bed().exec('m', [process.execPath, peerJs, 'get', idDirs.m!, bed().host('b').addr, String(PORT), ids.b!.id, fx.pid, join(work, 'cfg', 'other-chain')]);
      const g = JSON.parse(get.stdout.split('\n').find((l) => l.startsWith('{'))!) as RawResult;
      assert.deepEqual([g.status, g.error?.code], [403, 'E_SWARM_CHAIN'], `GET bundle with another project's chain: ${get.stdout}`);

      await refused(`oversized body (> ${BODY_LIMIT} bytes)`, { v: 1, exact: false, updates: [{ manifest: await manifest(move, 101, sha), chain: fx.aliceChain }] }, files('oversized.bundle'), 'E_BODY_TOO_LARGE');
      await refused('truncated bundle', { v: 1, exact: false, updates: [{ manifest: await manifest(move, 102, sha), chain: fx.aliceChain }] }, files('truncated.bundle'), 'E_BUNDLE_CORRUPT');
      await refused("bundle whose refs differ from its manifest's", { v: 1, exact: false, updates: [{ manifest: await manifest(move, 103, sha), chain: fx.aliceChain }] }, files('wrong.bundle'), 'E_MANIFEST_BUNDLE_REFS');
      const otherCa = await raw({ v: 1, exact: true, updates: [{ manifest: genuine, chain: fx.aliceChain }] }, good, otherCaDir);
      console.log(`peer certificate from another CA: ${String(otherCa.code)} ${otherCa.message ?? ''}`);
      assert.equal(otherCa.ok, false, JSON.stringify(otherCa));
      assert.ok(['E_SWARM_PEER_UNTRUSTED', 'E_SWARM_CONNECT'].includes(otherCa.code ?? ''), JSON.stringify(otherCa));
      const before = diskOf(baseOf('b'));
      const foreign = await raw({ v: 1, exact: true, updates: [{ manifest: genuine, chain: fx.aliceChain }] }, good, foreignClientDir);
      console.log(`client certificate from another CA (trusting B's CA): ${String(foreign.code)} ${foreign.message ?? ''}`);
      assert.equal(foreign.ok, false, `B's server refuses the handshake: ${JSON.stringify(foreign)}`);
      assert.deepEqual(diskOf(baseOf('b')), before);
      assert.notEqual(refsOf(repoOf('b'))['refs/heads/main'], x);

      // the same genuine update, whole and as signed, is accepted: the refusals were for their defects
      const ok = await raw({ v: 1, exact: true, updates: [{ manifest: genuine, chain: fx.aliceChain }] }, good);
      assert.deepEqual([ok.status, ok.body?.accepted], [200, true], JSON.stringify(ok));
      assert.equal(refsOf(repoOf('b'))['refs/heads/main'], x);
      assert.equal(git(['--git-dir', repoOf('b'), 'cat-file', '-t', x]), 'commit');
    });
  });
});
