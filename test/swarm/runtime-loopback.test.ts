// The replication runtime (SwarmNode) of two or three envoys in one process over loopback
// mTLS, with real bare repos: the faults an operator hits that need no network namespaces.
//   - a push larger than a peer's body limit is refused once, logged once with what to do,
//     and not sent again to that peer for the same tips (no retry loop);
//   - an envoy with a 1,000-ref repo catches up incrementally (POST form of the bundle
//     request), bytes far below a full bundle;
//   - a chain revoked on the receiver: its push and its catch-up request are refused with
//     nothing changed there, and the refusal names the revocation;
//   - server peer hints alone (no announce, no cross_subnet_members) carry fan-out and DR
//     catch-up, and a hint naming envoy C at the address where B answers is refused by
//     mTLS before a byte is sent.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, cryptoRng } from '../../src/platform/clock.js';
import { tokenId, type Hex } from '../../src/trust/index.js';
import { ProjectPeers, SwarmNode, signManifest, swarmCall, type ProjectTrustView, type RefUpdate, type SwarmNodeOptions } from '../../src/swarm/index.js';
import { TestFleet, type TestEnvoy } from './transport-fleet.js';
import { projectFixture, signer, type ProjectFixture } from './fixtures.js';
import { diskOf, git, refsOf, until } from './runtime-bed.js';


interface Envoy {
  name: string;
  host: string;
  id: TestEnvoy;
  base: string;
  peers: ProjectPeers;
  node: SwarmNode;
  port: number;
  logs: string[];
  repo: string;
}

describe('the replication runtime over loopback', () => {
  const work = mkdtempSync(join(tmpdir(), 'vigo-runtime-loopback-'));
  const running: SwarmNode[] = [];
  let fx: ProjectFixture;
  let fleet: TestFleet;
  let hostN = 10;

  before(async () => {
    fx = await projectFixture();
    fleet = await TestFleet.create();
  });
  after(async () => {
    await Promise.all(running.map((n) => n.close()));
    rmSync(work, { recursive: true, force: true });
  });

  async function envoy(name: string, o: Partial<SwarmNodeOptions> = {}, reuse?: Envoy): Promise<Envoy> {
    const host = reuse?.host ?? `127.0.0.${hostN++}`;
    const id = reuse?.id ?? (await fleet.envoy(name));
    const base = reuse?.base ?? join(work, name);
    const peers = new ProjectPeers({ selfHost: host, ttlMs: 3_600_000 });
    const logs: string[] = [];
    const node = new SwarmNode({
      identity: id.identity,
      envoyId: id.id,
      listenHost: host,
      port: reuse?.port ?? 0,
      base,
      projectsDir: join(base, 'projects'),
      peers,
      clock: systemClock,
      rng: cryptoRng,
      chainFor: () => fx.aliceChain,
      replication: { tickMs: 500, retryBaseMs: 100, retryMaxMs: 400, requestTimeoutMs: 60_000 },
      callDeadlineMs: 30_000,
      localAddress: host,
      log: (l) => logs.push(l),
      ...o,
    });
    const { port } = await node.start();
    running.push(node);
    return { name, host, id, base, peers, node, port, logs, repo: join(base, 'projects', `${fx.pid}.git`) };
  }

  /** `from` hears `to` announce its presence and (when it holds it) the project. */
  function hears(from: Envoy, to: Envoy, holds = true): void {
    const now = Date.now();
    from.peers.observe({ kind: 'envoy', host: to.host, envoyId: to.id.id, port: to.port }, now);
    if (holds) from.peers.observe({ kind: 'project', host: to.host, projectId: fx.pid, handle: 'vigo-web', scope: 'swarm-wide' }, now);
  }

  let seq = 0;
  /** The refs moved in `e`'s bare repo (by git, as a push would), then localPush with alice's signed manifest. */
  async function localPush(e: Envoy, refs: RefUpdate[]): Promise<void> {
    const { bundleSha256 } = await e.node.preparePush(fx.pid, refs);
    const manifest = await signManifest({ v: 1, kind: 'gitback-manifest', project_id: fx.pid, envoy: e.id.id, pusher: Buffer.from(signer('alice').publicKey).toString('hex'), seq: ++seq, scope: 'swarm-wide', bundle_sha256: bundleSha256, refs }, signer('alice'));
    e.node.localPush({ manifest, chain: fx.aliceChain });
  }

  /** A commit on `ref` of a bare repo (created when missing) adding `bytes` of random data; returns its ref update. */
  function commit(repo: string, ref: string, bytes: number): RefUpdate {
    if (!existsSync(repo)) git(['init', '--bare', '--quiet', '-b', 'main', repo]);
    const old = refsOf(repo)[ref] ?? null;
    const data = randomBytes(bytes).toString('base64');
    const parts = [`commit ${ref}\ncommitter alice <alice@example.org> 1764000000 +0000\ndata 2\nc\n`];
    if (old !== null) parts.push(`from ${old}\n`);
    parts.push(`M 100644 inline f-${randomBytes(4).toString('hex')}.txt\ndata ${data.length}\n${data}\n`);
    git(['--git-dir', repo, 'fast-import', '--quiet'], undefined, parts.join(''));
    return { ref, old, new: refsOf(repo)[ref]! };
  }

  test('a push larger than the peer accepts is refused once, logged once with what to do, and not sent again for the same tips', { timeout: 120_000 }, async () => {
    const a = await envoy('big-a');
    const b = await envoy('big-b', { pushBodyLimitBytes: 64 * 1024 });
    b.node.join(fx.pid, 'swarm-wide');
    hears(a, b, false);
    hears(b, a);
    await localPush(a, [commit(a.repo, 'refs/heads/main', 1024 * 1024)]);
    const refusedLines = (): string[] => a.logs.filter((l) => l.includes(`${b.host}:${b.port}`));
    await until('A logs the refusal', 60_000, () => refusedLines().length > 0, () => a.logs.join('\n'));
    // with retries every 100–400 ms, a sender that took the refusal for a failure would have retried many times by now
    await new Promise((r) => setTimeout(r, 3000));
    const lines = refusedLines();
    console.log(`A's log about B after 3 s: ${lines.length} line(s)\n  ${lines.join('\n  ')}`);
    assert.equal(lines.length, 1, `one line, no retries:\n${lines.join("\n")}\nB: ${b.logs.join("\n")}`);
    assert.match(lines[0]!, /E_BODY_TOO_LARGE/);
    assert.match(lines[0]!, /raise pushBodyLimitBytes/);
    assert.equal(a.node.machine.counters.failures, 0, 'the refusal is not counted as a failure to retry');
    assert.deepEqual(refsOf(b.repo), {}, 'B took nothing');
    // a new tip is sent again (and refused again: the repo is still too large for B)
    await localPush(a, [commit(a.repo, 'refs/heads/main', 16)]);
    await until('A tries the new tips once', 60_000, () => refusedLines().length === 2, () => a.logs.join('\n'));
  });

  test('an envoy holding a 1,000-ref repo catches up incrementally: bytes far below a full bundle', { timeout: 300_000 }, async () => {
    const a = await envoy('many-a');
    // 1,000 branches, each a commit of 1 KiB of random data on top of the previous one
    git(['init', '--bare', '--quiet', '-b', 'main', a.repo]);
    const parts: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const data = randomBytes(768).toString('base64');
      parts.push(`commit refs/heads/b${String(i).padStart(4, '0')}\nmark :${i + 1}\ncommitter alice <alice@example.org> ${1764000000 + i} +0000\ndata 2\nc\n`);
      if (i > 0) parts.push(`from :${i}\n`);
      parts.push(`M 100644 inline f${i}.txt\ndata ${data.length}\n${data}\n`);
    }
    git(['--git-dir', a.repo, 'fast-import', '--quiet'], undefined, parts.join(''));
    const all = refsOf(a.repo);
    await localPush(a, Object.entries(all).map(([ref, tip]) => ({ ref, old: null, new: tip })));
    // B, a member with no repo yet, hears A: DR catch-up (a full bundle: it holds nothing)
    const b = await envoy('many-b');
    hears(b, a);
    b.node.join(fx.pid, 'swarm-wide');
    await until('B holds the 1,000 refs', 240_000, () => Object.keys(refsOf(b.repo)).length === 1000, () => b.logs.join('\n'));
    const full = b.node.bytes.received;
    // one commit on one branch, on A only (A does not know B, so nothing is pushed): B's anti-entropy pulls it
    const u = commit(a.repo, 'refs/heads/b0500', 4096);
    await localPush(a, [u]);
    await until('B catches up the new commit', 120_000, () => refsOf(b.repo)['refs/heads/b0500'] === u.new, () => b.logs.join('\n'));
    const inc = b.node.bytes.received - full;
    const allBundle = join(work, 'all.bundle');
    git(['--git-dir', a.repo, 'bundle', 'create', '--quiet', allBundle, '--all']);
    const size = statSync(allBundle).size;
    console.log(`1,000 refs: catch-up of one commit ${inc} bytes; git bundle create --all ${size} bytes (${((100 * inc) / size).toFixed(2)} %); the first catch-up took ${full} bytes`);
    assert.ok(inc * 20 < size, `incremental: ${inc} bytes against ${size} for --all`);
    assert.deepEqual(refsOf(b.repo), refsOf(a.repo));
  });

  test('a chain revoked on the receiver: its push and its catch-up request are refused, naming the revocation, with nothing changed', { timeout: 180_000 }, async () => {
    const revoked = new Map<Hex, string | null>();
    const trustView = (): ProjectTrustView => ({ revocations: { revoked } });
    const a = await envoy('rev-a');
    const b = await envoy('rev-b', { trustView });
    b.node.join(fx.pid, 'swarm-wide');
    hears(a, b, false);
    hears(b, a);
    await localPush(a, [commit(a.repo, 'refs/heads/main', 100)]);
    await until('B holds the first push', 60_000, () => JSON.stringify(refsOf(b.repo)) === JSON.stringify(refsOf(a.repo)), () => b.logs.join('\n'));

    // B's envelope store learns that alice's token was revoked
    revoked.set(tokenId(fx.alice), 'laptop lost');
    await new Promise((r) => setTimeout(r, 1500)); // B's background rounds settle
    const before = { refs: refsOf(b.repo), objects: git(['--git-dir', b.repo, 'count-objects', '-v']), disk: diskOf(b.base) };
    const refusalsBefore = b.node.refusals.E_MANIFEST_CHAIN ?? 0;
    await localPush(a, [commit(a.repo, 'refs/heads/main', 100)]);
    await until('B refuses the push', 60_000, () => (b.node.refusals.E_MANIFEST_CHAIN ?? 0) > refusalsBefore, () => `${a.logs.join('\n')}\n${b.logs.join('\n')}`);
    const line = b.logs.find((l) => l.includes('refused a push') && l.includes('E_MANIFEST_CHAIN'));
    console.log(`B's log: ${line}`);
    assert.match(line ?? '', /revoked/i);

    // a catch-up request presenting the revoked chain, both forms
    const call = (method: 'GET' | 'POST') =>
      swarmCall({
        identity: a.id.identity,
        host: b.host,
        port: b.port,
        localAddress: a.host,
        expectEnvoyId: b.id.id,
        deadlineMs: 30_000,
        method,
        path: `/swarm/gitback/bundle/${fx.pid}`,
        headers: { 'x-vigo-chain': fx.aliceChain },
        ...(method === 'POST' ? { body: JSON.stringify({ v: 1, have: {} }) } : {}),
      });
    for (const m of ['GET', 'POST'] as const) {
      const r = await call(m);
      console.log(`${m} bundle with the revoked chain: ${r.status} ${r.error?.code ?? ''} ${r.error?.message ?? ''}`);
      assert.equal(r.status, 403);
      assert.equal(r.error?.code, 'E_SWARM_CHAIN');
      assert.match(r.error?.message ?? '', /revoked/i);
    }
    await new Promise((r) => setTimeout(r, 1500)); // anything in flight on B has landed or not
    const afterB = { refs: refsOf(b.repo), objects: git(['--git-dir', b.repo, 'count-objects', '-v']), disk: diskOf(b.base) };
    assert.deepEqual(afterB, before, "B's refs, objects and files are unchanged");
    assert.notEqual(refsOf(b.repo)['refs/heads/main'], refsOf(a.repo)['refs/heads/main']);
  });

  test('server peer hints carry fan-out and catch-up; a hint naming C where B answers is refused, nothing sent', { timeout: 180_000 }, async () => {
    const a = await envoy('hint-a');
    const b = await envoy('hint-b');
    const c = await envoy('hint-c');
    b.node.join(fx.pid, 'swarm-wide');
    c.node.join(fx.pid, 'swarm-wide');
    // no announce is heard anywhere: the hints are the only discovery layer
    a.peers.setPeerHints({ [fx.pid]: [{ envoyId: c.id.id, host: b.host, port: b.port }, { envoyId: c.id.id, host: c.host, port: c.port }] });
    assert.deepEqual(a.peers.peersOf(fx.pid, Date.now()).map((p) => [p.key, p.sources, p.envoyId]), [
      [`${b.host}:${b.port}`, ['hint'], c.id.id],
      [`${c.host}:${c.port}`, ['hint'], c.id.id],
    ]);
    const pushed = commit(a.repo, 'refs/heads/main', 100);
    await localPush(a, [pushed]);
    await until('C, hinted at its own address, holds the push', 60_000, () => refsOf(c.repo)['refs/heads/main'] === pushed.new, () => a.logs.join('\n'));
    const mismatch = () => a.logs.filter((l) => l.includes(`envoy ${c.id.id} at ${b.host}:${b.port}`));
    await until('A logs the refused address', 60_000, () => mismatch().length > 0, () => a.logs.join('\n'));
    assert.match(mismatch()[0]!, new RegExp(`the certificate there names envoy ${b.id.id}, not the one expected; nothing was sent`));
    assert.deepEqual(refsOf(b.repo), {}, 'B, where the hint said C answers, was sent nothing');
    assert.equal(b.node.bytes.received, 0);
    // B's own hint, right this time: DR catch-up pulls the repo from A
    b.peers.setPeerHints({ [fx.pid]: [{ envoyId: a.id.id, host: a.host, port: a.port }] });
    b.node.poke();
    await until('B catches up from its hinted peer', 60_000, () => refsOf(b.repo)['refs/heads/main'] === pushed.new, () => b.logs.join('\n'));
  });
});
