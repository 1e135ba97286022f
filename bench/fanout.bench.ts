// Signed push fan-out on the replication runtime, in the netns bed (root only): one origin
// envoy A and 8 peers, each a real runtime process (test/swarm/runtime-peer.ts) in its own
// namespace, discovered by multicast, on a 10,000-commit repository. One run prints:
//   1. the time from push return (git push into A's bare repo + localPush) until all 8
//      peers' bare repos hold the new tip, against one local `git push` plus
//      `git bundle create` of the same change (goal ≤ 2×);
//   2. bundle bytes sent per peer for a 1-commit push, against `git bundle create --all`
//      of the repo (goal ≤ 1 %);
//   3. how long a peer killed before a push takes to converge after its restart, in
//      catch-up ticks.
// BENCH_PEERS, BENCH_COMMITS, BENCH_ROUNDS, BENCH_TICK_MS change the defaults (8, 10000, 5, 3000).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NetnsBed, netnsUnavailable } from '../test/helpers/netns.js';
import { TestFleet, writeIdentityDir } from '../test/swarm/transport-fleet.js';
import { projectFixture, seedOf } from '../test/swarm/fixtures.js';
import { git, startRuntime, type RuntimeProc } from '../test/swarm/runtime-bed.js';
import type { RuntimeConfig } from '../test/swarm/runtime-peer.js';

const PEERS = Number(process.env.BENCH_PEERS ?? 8);
const COMMITS = Number(process.env.BENCH_COMMITS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const TICK_MS = Number(process.env.BENCH_TICK_MS ?? 3000);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `n` commits on refs/heads/main of a bare repo (after what is there), one small file each. */
function commits(repo: string, n: number, from: number): void {
  const parts: string[] = [];
  for (let i = from; i < from + n; i++) {
    const body = `change ${i}\n`;
    parts.push(`commit refs/heads/main\ncommitter Bench <bench@example> ${1_700_000_000 + i} +0000\ndata ${Buffer.byteLength(body)}\n${body}`);
    if (i === from && from > 1) parts.push('from refs/heads/main^0\n');
    parts.push(`M 100644 inline f${i % 64}.txt\ndata ${Buffer.byteLength(body)}\n${body}\n`);
  }
  git(['--git-dir', repo, 'fast-import', '--quiet'], undefined, parts.join(''));
}

/** The tip of refs/heads/main, read from the loose ref file update-ref writes (cheap to poll). */
function mainOf(repo: string): string | null {
  try {
    return readFileSync(join(repo, 'refs', 'heads', 'main'), 'utf8').trim();
  } catch {
    return null;
  }
}

async function until(ms: number, f: () => boolean, what: string): Promise<number> {
  const t0 = performance.now();
  while (!f()) {
    if (performance.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const why = netnsUnavailable();
  if (why !== null) {
    console.error(`bench:fanout needs the netns bed: ${why}`);
    process.exit(2);
  }
  const names = ['a', ...Array.from({ length: PEERS }, (_, i) => `p${i + 1}`)];
  const bed = new NetnsBed(names);
  const work = mkdtempSync(join(tmpdir(), 'vigo-bench-fanout-'));
  const procs: Record<string, RuntimeProc> = {};
  try {
    const fx = await projectFixture();
    const fleet = await TestFleet.create();
    writeFileSync(join(work, 'seed'), Buffer.from(seedOf('alice')).toString('hex'), { mode: 0o600 });
    writeFileSync(join(work, 'chain'), fx.aliceChain, { mode: 0o600 });
    const base = (h: string): string => join(bed.host(h).vigoRoot, 'var/lib/vigo/swarm/gitback');
    const repo = (h: string): string => join(base(h), 'projects', `${fx.pid}.git`);
    const cfg: Record<string, string> = {};
    for (const h of names) {
      const e = await fleet.envoy(h);
      const c: RuntimeConfig = {
        identityDir: writeIdentityDir(e, work),
        envoyId: e.id,
        host: bed.host(h).addr,
        port: 1531,
        base: base(h),
        projectsDir: join(base(h), 'projects'),
        group: '239.77.15.31',
        announcePort: 15310,
        intervalMs: 1000,
        tickMs: TICK_MS,
        pushBodyLimitBytes: 512 * 1024 * 1024,
        seedFile: join(work, 'seed'),
        chainFile: join(work, 'chain'),
        projects: [{ pid: fx.pid, handle: 'vigo-web', scope: 'swarm-wide' }],
      };
      cfg[h] = join(work, `${h}.json`);
      writeFileSync(cfg[h], JSON.stringify(c), { mode: 0o600 });
    }
    // a runtime that dies says why (its log is otherwise lost with it)
    const watch = (h: string): void => {
      const p = procs[h]!;
      p.proc.once('exit', (code, signal) => {
        if (signal !== 'SIGKILL') console.error(`fanout: the runtime on ${h} exited (${String(code ?? signal)}):\n${p.stderr.slice(-4000)}`);
      });
    };
    await Promise.all(names.map(async (h) => (procs[h] = await startRuntime(bed, h, cfg[h]!))));
    names.forEach(watch);
    const peers = names.slice(1);

    // the user's repository, and a plain bare repo for the baseline push
    const src = join(work, 'src.git');
    const plain = join(work, 'plain.git');
    git(['init', '--bare', '--quiet', '-b', 'main', src]);
    git(['init', '--bare', '--quiet', '-b', 'main', plain]);
    mkdirSync(join(base('a'), 'projects'), { recursive: true, mode: 0o700 });
    git(['init', '--bare', '--quiet', '-b', 'main', repo('a')]);
    const t0 = performance.now();
    commits(src, COMMITS, 1);
    console.log(`fanout: ${COMMITS} commits made in ${(performance.now() - t0).toFixed(0)} ms; ${PEERS} peers, tick ${TICK_MS} ms`);
    let next = COMMITS + 1;
    let seq = 0;

    const push = async (): Promise<{ pushMs: number; tip: string; old: string | null }> => {
      const old = mainOf(repo('a'));
      const t = performance.now();
      git(['--git-dir', src, 'push', '--quiet', repo('a'), 'main']);
      const tip = mainOf(repo('a'))!;
      const r = await procs.a!.cmd({ cmd: 'push', pid: fx.pid, refs: [{ ref: 'refs/heads/main', old, new: tip }], seq: ++seq });
      if (!r.ok) throw new Error(`localPush: ${r.error}`);
      return { pushMs: performance.now() - t, tip, old };
    };

    const first = await push();
    git(['--git-dir', src, 'push', '--quiet', plain, 'main']);
    const seedMs = await until(600_000, () => peers.every((h) => mainOf(repo(h)) === first.tip), 'initial fan-out');
    console.log(`fanout: the ${COMMITS}-commit repo reached all ${PEERS} peers ${seedMs.toFixed(0)} ms after the first push returned`);

    const fan: number[] = [];
    const base1: number[] = [];
    const perPeer: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      commits(src, 1, next++);
      const before = ((await procs.a!.cmd({ cmd: 'status', pid: fx.pid })).bytes as { sent: number }).sent;
      const p = await push();
      fan.push(await until(120_000, () => peers.every((h) => mainOf(repo(h)) === p.tip), 'fan-out'));
      const after = ((await procs.a!.cmd({ cmd: 'status', pid: fx.pid })).bytes as { sent: number }).sent;
      perPeer.push((after - before) / PEERS);
      // the baseline: the same change pushed to a plain bare repo, plus its bundle
      const tb = performance.now();
      git(['--git-dir', src, 'push', '--quiet', plain, 'main']);
      git(['--git-dir', plain, 'bundle', 'create', '--quiet', join(work, 'one.bundle'), 'main', `^${p.old!}`]);
      base1.push(performance.now() - tb);
    }
    git(['--git-dir', repo('a'), 'bundle', 'create', '--quiet', join(work, 'all.bundle'), '--all']);
    const all = statSync(join(work, 'all.bundle')).size;

    // a peer down while a push fans out, restarted: no new push
    const last = peers[peers.length - 1]!;
    await procs[last]!.kill();
    commits(src, 1, next++);
    const p = await push();
    await until(120_000, () => peers.slice(0, -1).every((h) => mainOf(repo(h)) === p.tip), 'fan-out without the killed peer');
    const tr = performance.now();
    procs[last] = await startRuntime(bed, last, cfg[last]!);
    watch(last);
    const convergeMs = await until(300_000, () => mainOf(repo(last)) === p.tip, 'restarted peer converges');
    const restartMs = performance.now() - tr;

    const f = median(fan);
    const b = median(base1);
    console.log(`fanout: push return → ${PEERS} peers hold the tip: median ${f.toFixed(0)} ms (${fan.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`fanout: one local push + git bundle create of the same change: median ${b.toFixed(0)} ms (${base1.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(`fanout: ratio ${(f / b).toFixed(2)}× (goal ≤ 2×)`);
    const inc = median(perPeer);
    console.log(`fanout: bytes sent per peer for a 1-commit push: ${inc.toFixed(0)}; git bundle create --all: ${all}; ${((100 * inc) / all).toFixed(3)} % (goal ≤ 1 %)`);
    console.log(`fanout: a peer killed before a push converged ${convergeMs.toFixed(0)} ms after its runtime was up (${restartMs.toFixed(0)} ms after restart began): ${(convergeMs / TICK_MS).toFixed(2)} catch-up ticks of ${TICK_MS} ms`);
  } finally {
    for (const p of Object.values(procs)) await p.kill();
    bed.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
