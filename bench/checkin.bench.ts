// `npm run bench:checkin`: N simulated envoys in this process, each holding a real mTLS
// gRPC check-in stream to one vigosrv (a separate process), checking in on loopback.
// Prints no-change check-ins per second per server core (closed loop), p50/p99 latency at
// a fixed cadence, server RSS per connected envoy, and the server CPU cost of a no-change
// check-in relative to a bare gRPC echo of the same messages on the same kind of stream
// (a separate echo process), all measured in this run. Then the swarm traits (issue 14):
// the server's no-change cost with traits and fleet shas on every check-in vs without them,
// and the agent's cost per check-in of its traits with the change detection vs collecting
// them afresh every time (BENCH_TRAIT_USERS users with puddles, BENCH_TRAIT_PROJECTS bare
// repos, in a temp VIGO_ROOT).
//
//   BENCH_ENVOYS (default 10000)   connected envoys
//   BENCH_SECONDS (default 5)      length of each measured phase
//   BENCH_RATE (default 1000)      check-ins/s of the fixed-cadence phase
//   BENCH_INFLIGHT (default 256)   concurrent check-ins in the closed-loop phase
//   BENCH_MODE=reconnect           instead: reconnect spread after a kill -9 restart
//     BENCH_POLICY (before|after), BENCH_INTERVAL_S (10), BENCH_DOWN_S (3), BENCH_SEED (1)
// The script raises the fd limit to the hard limit (each envoy is one socket on each side).
import 'reflect-metadata';
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import Database from 'better-sqlite3';
import { CheckinStream, CheckinSchedule, seededRandom, TraitsCollector } from '../src/agent/index.js';
import { checkinService, NO_FLEET_SHA, type AgentMessage, type CheckInMsg, type ServerMessage } from '../src/wire/checkin.js';
import { traitsSha, traitsText, type Traits } from '../src/wire/swarm-fleet.js';
import { fromHex, mintNameClaim, projectId, publicKeyFromSeed, seedSigner, sha256Hex, toHex } from '../src/trust/index.js';
import { createEnvoyCsr } from '../src/wire/enroll.js';
import { signEnvoyCsr } from '../src/server/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const N = Number(process.env.BENCH_ENVOYS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const INFLIGHT = Number(process.env.BENCH_INFLIGHT ?? 256);
const ECHO_STREAMS = Math.min(N, 1000);

// ---- echo-server mode: the baseline, same TLS and service definition, no logic ----
function echoServer(): void {
  const [ca, cert, key] = process.argv.slice(3, 6).map((f) => readFileSync(f ?? ''));
  const server = new grpc.Server();
  server.addService(checkinService(), {
    Stream: (call: grpc.ServerDuplexStream<AgentMessage, ServerMessage>) => {
      call.on('data', (m: AgentMessage) => call.write({ seq: m.seq, ack: { policy_version: m.checkin?.policy_version ?? 0, interval_s: 60 } }));
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createSsl(ca ?? null, [{ private_key: key as Buffer, cert_chain: cert as Buffer }], true), (e, port) => {
    if (e) throw e;
    process.stdout.write(`echo ready ${port}\n`);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
    s.on('error', reject);
  });
}

function spawnNode(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const on = (d: Buffer) => {
      out += d.toString();
      const m = ready.exec(out);
      if (m) resolve({ child, match: m });
    };
    child.stdout?.on('data', on);
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (c) => reject(new Error(`process exited (${c}) before it was ready:\n${out}`)));
  });
}

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const log = (s: string) => process.stderr.write(`${s}\n`);

/** Closed loop: INFLIGHT workers each check in on the next stream as soon as the last answer came. */
async function closedLoop(streams: CheckinStream[], pid: number, seconds: number, swarm?: (s: CheckinStream) => Pick<CheckInMsg, 'traits_sha256' | 'traits_json' | 'fleet_sha256'>): Promise<{ rate: number; perCore: number; cpuPerCheckinUs: number }> {
  let count = 0;
  let next = 0;
  const end = Date.now() + seconds * 1000;
  const cpu0 = cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: Math.min(INFLIGHT, streams.length) }, async () => {
      while (Date.now() < end) {
        const s = streams[next++ % streams.length] as CheckinStream;
        await s.checkin(0, 'bench-fingerprint-0123456789abcdef', 30_000, '', swarm?.(s));
        count++;
      }
    }),
  );
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds(pid) - cpu0;
  return { rate: count / wall, perCore: count / Math.max(cpu, 0.01), cpuPerCheckinUs: (cpu / count) * 1e6 };
}

/** Closed loop of run reports: each is acknowledged only after its SQLite commit. */
async function runLoop(streams: CheckinStream[], pid: number, seconds: number): Promise<{ rate: number; p99: number; cpuPerRunUs: number }> {
  const lat: number[] = [];
  let next = 0;
  const report = JSON.stringify({ policy_version: 0, started_at: new Date().toISOString(), duration_ms: 3, status: 'ok', counts: { ok: 3, changed: 0, failed: 0 }, configcrates: 1, resources: [1, 2, 3].map((i) => ({ id: `motd:file:/etc/f${i}`, type: 'file', status: 'ok', message: '' })) });
  const end = Date.now() + seconds * 1000;
  const cpu0 = cpuSeconds(pid);
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: Math.min(INFLIGHT, streams.length) }, async () => {
      while (Date.now() < end) {
        const s = streams[next++ % streams.length] as CheckinStream;
        const start = process.hrtime.bigint();
        await s.sendRun(randomUUID(), report, 30_000);
        lat.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
    }),
  );
  const cpu = cpuSeconds(pid) - cpu0;
  lat.sort((a, b) => a - b);
  return { rate: lat.length / ((Date.now() - t0) / 1000), p99: pct(lat, 99), cpuPerRunUs: (cpu / lat.length) * 1e6 };
}

/** Fixed cadence: RATE check-ins/s spread over the streams, latency of each. */
async function cadence(streams: CheckinStream[], seconds: number, rate: number): Promise<{ p50: number; p99: number; achieved: number; errors: number }> {
  const lat: number[] = [];
  let errors = 0;
  const pending: Promise<void>[] = [];
  const tickMs = 10;
  const perTick = rate / (1000 / tickMs);
  let debt = 0;
  let next = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < seconds * 1000) {
    debt += perTick;
    while (debt >= 1) {
      debt -= 1;
      const s = streams[next++ % streams.length] as CheckinStream;
      const start = process.hrtime.bigint();
      pending.push(
        s.checkin(0, 'bench-fingerprint-0123456789abcdef', 30_000).then(
          () => void lat.push(Number(process.hrtime.bigint() - start) / 1e6),
          () => void errors++,
        ),
      );
    }
    const due = t0 + Math.round(((next / rate) * 1000));
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
  }
  await Promise.all(pending);
  lat.sort((a, b) => a - b);
  return { p50: pct(lat, 50), p99: pct(lat, 99), achieved: lat.length / ((Date.now() - t0) / 1000), errors };
}

async function connectAll(addr: string, tlsFor: (i: number) => { ca: string; key: string; cert: string }, n: number, what: string): Promise<CheckinStream[]> {
  const streams: CheckinStream[] = [];
  const batch = 250;
  for (let i = 0; i < n; i += batch) {
    const group: CheckinStream[] = [];
    for (let j = i; j < Math.min(n, i + batch); j++) group.push(new CheckinStream(addr, tlsFor(j), { 'grpc.use_local_subchannel_pool': 1, 'grpc.keepalive_time_ms': 600_000 }));
    await Promise.all(group.map((s) => s.checkin(0, 'bench-fingerprint-0123456789abcdef', 60_000)));
    streams.push(...group);
    if ((i / batch) % 8 === 7 || i + batch >= n) log(`  ${what}: ${streams.length}/${n} streams connected`);
  }
  return streams;
}

/**
 * Setup, not measured: a first start creates the CA and the database; then N envoys are
 * provisioned directly (one key for every simulated envoy; each gets its own certificate).
 */
async function provision(dir: string, root: string, intervalS: number) {
  const grpcPort = await freePort();
  const yaml = join(dir, 'server.yaml');
  writeFileSync(yaml, `server:\n  api_listen: 127.0.0.1:${await freePort()}\n  grpc_listen: 127.0.0.1:${grpcPort}\ncheckin:\n  interval: ${intervalS}s\n`);
  const vigosrv = join(repo, 'bin', 'vigosrv.js');
  const srv = await spawnNode([vigosrv, '--config', yaml], { VIGO_ROOT: root }, /vigosrv ready/);
  srv.child.kill('SIGTERM');
  await new Promise((r) => srv.child.on('exit', r));
  const tls = join(root, 'srv', 'vigo', 'tls');
  const ca = { cert: readFileSync(join(tls, 'ca.crt'), 'utf8'), key: readFileSync(join(tls, 'ca.key'), 'utf8') };
  const shared = await createEnvoyCsr('bench');
  const t0 = Date.now();
  const certs: string[] = [];
  const db = new Database(join(root, 'srv', 'vigo', 'db', 'vigo.db'));
  const ins = db.prepare('INSERT INTO envoys (id, hostname, pubkey_sha256, cert_serial, enrolled_at) VALUES (?, ?, ?, ?, ?)');
  const rows: [string, string, string, string, number][] = [];
  for (let i = 0; i < N; i++) {
    const id = randomUUID();
    const s = await signEnvoyCsr(ca, shared.csr, id);
    certs.push(s.cert);
    rows.push([id, `sim-${String(i).padStart(5, '0')}`, s.publicKeySha256, s.serial, Math.floor(Date.now() / 1000)]);
  }
  db.transaction(() => rows.forEach((r) => ins.run(...r)))();
  db.close();
  log(`  provisioned ${N} envoy certificates in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return { grpcPort, yaml, vigosrv, tls, ca, shared, certs };
}

/**
 * `BENCH_MODE=reconnect`: N envoys hold streams; the server is killed (-9) and restarted
 * after BENCH_DOWN_S; each envoy's first answered check-in after the restart is timed.
 * BENCH_POLICY=before simulates the old agent (a fixed setInterval tick, phases aligned as
 * in a fleet that started together, nothing on a broken stream); `after` (default) runs the
 * agent's CheckinSchedule (jittered interval, full-jitter backoff, reconnect on close).
 */
async function reconnectBench(dir: string, root: string, children: ChildProcess[]): Promise<void> {
  const policy = process.env.BENCH_POLICY === 'before' ? 'before' : 'after';
  const intervalS = Number(process.env.BENCH_INTERVAL_S ?? 10);
  const downS = Number(process.env.BENCH_DOWN_S ?? 3);
  log(`bench:checkin reconnect — ${N} envoys, policy ${policy}, interval ${intervalS}s, server down ${downS}s`);
  const { grpcPort, yaml, vigosrv, ca, shared, certs } = await provision(dir, root, intervalS);
  let srv = await spawnNode([vigosrv, '--config', yaml], { VIGO_ROOT: root }, /vigosrv ready/);
  children.push(srv.child);
  const addr = `127.0.0.1:${grpcPort}`;
  const streams = await connectAll(addr, (i) => ({ ca: ca.cert, key: shared.key, cert: certs[i] as string }), N, 'vigosrv');
  const random = seededRandom(Number(process.env.BENCH_SEED ?? 1));
  let killedAt = Infinity;
  const back: number[] = [];
  let failures = 0;
  let stop = false;
  const timers: NodeJS.Timeout[] = [];
  const attempt = async (s: CheckinStream, i: number): Promise<boolean> => {
    try {
      await s.checkin(0, 'bench-fingerprint-0123456789abcdef', 5000);
      if (Date.now() > killedAt && back[i] === undefined) back[i] = Date.now();
      return true;
    } catch {
      failures++;
      return false;
    }
  };
  const started = Date.now();
  streams.forEach((s, i) => {
    if (policy === 'before') {
      timers.push(setInterval(() => void attempt(s, i), intervalS * 1000));
      return;
    }
    const sched = new CheckinSchedule({ intervalMs: intervalS * 1000, random });
    let timer: NodeJS.Timeout | undefined;
    let busy = false;
    const next = (ms: number) => {
      if (stop) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void run(), ms);
      timers.push(timer);
    };
    const run = async () => {
      busy = true;
      const ok = await attempt(s, i);
      busy = false;
      next(ok ? sched.afterSuccess() : sched.afterFailure());
    };
    s.onClosed = () => {
      if (!busy) next(sched.afterFailure());
    };
    next(sched.afterSuccess());
  });
  // let the schedules run a little, then kill the server and bring it back
  await new Promise((r) => setTimeout(r, Math.max(0, started + intervalS * 1500 - Date.now())));
  srv.child.kill('SIGKILL');
  killedAt = Date.now();
  await new Promise((r) => srv.child.on('exit', r));
  await new Promise((r) => setTimeout(r, downS * 1000));
  failures = 0;
  srv = await spawnNode([vigosrv, '--config', yaml], { VIGO_ROOT: root }, /vigosrv ready/);
  children.push(srv.child);
  const readyAt = Date.now();
  const deadline = readyAt + intervalS * 3000 + 30_000;
  let lastReport = readyAt;
  for (let n = 0; n < N && Date.now() < deadline; n = back.filter((x) => x !== undefined).length) {
    if (Date.now() - lastReport >= 5000) {
      lastReport = Date.now();
      log(`  +${Math.round((lastReport - readyAt) / 1000)}s after ready: ${n}/${N} back, ${failures} failed check-ins`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  stop = true;
  for (const t of timers) clearTimeout(t);
  const rel = back.filter((x) => x !== undefined).map((t) => t - readyAt).sort((a, b) => a - b);
  const buckets = new Map<number, number>();
  for (const t of rel) buckets.set(Math.floor(t / 100), (buckets.get(Math.floor(t / 100)) ?? 0) + 1);
  const f = (x: number) => (x / 1000).toFixed(2);
  const row = (k: string, v: string) => process.stdout.write(`${k.padEnd(50)} ${v}\n`);
  process.stdout.write('\n');
  row('policy', `${policy} (interval ${intervalS}s, server down ${downS}s after kill -9)`);
  row('envoys back after the restart', `${rel.length}/${N}`);
  row('first / p50 / p99 / last reconnect after ready', `${f(rel[0] ?? NaN)} / ${f(pct(rel, 50))} / ${f(pct(rel, 99))} / ${f(rel[rel.length - 1] ?? NaN)} s`);
  row('spread (last − first)', `${f((rel[rel.length - 1] ?? NaN) - (rel[0] ?? NaN))} s`);
  row('peak reconnects in one 100 ms window', `${Math.max(0, ...buckets.values())}`);
  row('failed check-ins after the restart', `${failures}`);
  for (const s of streams) s.close();
}

/** Traits of a plausible envoy: `users` puddle users with claims, `projects` projects with 3 refs. */
async function sampleTraits(users: number, projects: number): Promise<Traits> {
  const key = (n: string) => fromHex(sha256Hex(`bench/${n}`));
  const pk = (n: string) => toHex(publicKeyFromSeed(key(n)));
  const us = await Promise.all(Array.from({ length: users }, async (_, i) => ({ user: `u${i}`, uid: 2000 + i, pubkey: pk(`u${i}`), initialized: true, unlocked: i % 2 === 0, pair_pending: false, name_claim: await mintNameClaim(seedSigner(key(`u${i}`)), `user-${i}`, 1764000000) })));
  const ps = Array.from({ length: projects }, (_, i) => ({ project_id: projectId(fromHex(pk('u0')), `p${i}`), handle: `p${i}`, founder: pk('u0'), scope: 'swarm-wide' as const, members: [pk('u0'), pk('u1')], bare_repo: true, bare_repo_bytes: 123456, refs: { 'refs/heads/main': 'a'.repeat(40), 'refs/heads/dev': 'b'.repeat(40), 'refs/tags/v1': 'c'.repeat(40) }, revokes: 1, leaves: 0, tombstoned: false }));
  return { v: 1, puddle: { users: us }, gitback: { projects: ps } };
}

/** An envoy's files as the collector reads them: users with puddles and projects, real bare repos. */
async function traitsRoot(dir: string, users: number, projects: number): Promise<{ env: { VIGO_ROOT: string }; passwd: { name: string; uid: number; home: string }[] }> {
  const root = join(dir, 'envoy');
  const t = await sampleTraits(users, projects);
  const passwd = t.puddle.users.map((u) => ({ name: u.user, uid: 0, home: join(dir, 'homes', u.user) }));
  const git = (args: string[], cwd?: string) => execFileSync('git', args, { cwd, env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x' } });
  const work = join(dir, 'work');
  git(['init', '-q', work]);
  writeFileSync(join(work, 'f'), 'x\n');
  git(['add', 'f'], work);
  git(['commit', '-qm', 'x'], work);
  for (const [i, u] of t.puddle.users.entries()) {
    const p = join(passwd[i]!.home, '.vigo-puddle');
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, 'identity.pub'), `${u.pubkey}\n`);
    writeFileSync(join(p, 'identity.wrapped'), 'w');
    writeFileSync(join(p, 'name-claim.json'), JSON.stringify(u.name_claim));
    for (const pr of t.gitback.projects) {
      const d = join(passwd[i]!.home, '.vigo-gitback', pr.project_id);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'project.json'), JSON.stringify({ version: 1, project_id: pr.project_id, handle: pr.handle, founder: pr.founder, scope: pr.scope, members: pr.members, tombstoned_at: null }));
    }
  }
  for (const pr of t.gitback.projects) {
    const bare = join(root, 'var/lib/vigo/swarm/gitback/projects', `${pr.project_id}.git`);
    mkdirSync(join(bare, '..'), { recursive: true });
    git(['init', '-q', '--bare', bare]);
    git(['push', '-q', bare, 'HEAD:refs/heads/main', 'HEAD:refs/heads/dev', 'HEAD:refs/tags/v1'], work);
  }
  return { env: { VIGO_ROOT: root }, passwd };
}

/** µs per call of the agent's traits for one check-in. */
function perCallUs(c: TraitsCollector, n: number): number {
  c.current();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) c.current();
  return Number(process.hrtime.bigint() - t0) / 1e3 / n;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigo-bench-'));
  const root = join(dir, 'server');
  const children: ChildProcess[] = [];
  const cleanup = () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  if (process.env.BENCH_MODE === 'reconnect') {
    try {
      await reconnectBench(dir, root, children);
    } finally {
      cleanup();
    }
    process.exit(0);
  }
  try {
    log(`bench:checkin — ${N} envoys, ${SECONDS}s phases, cadence ${RATE}/s, closed loop ${INFLIGHT} in flight`);
    const { grpcPort, yaml, vigosrv, tls, ca, shared, certs } = await provision(dir, root, 3600);
    const srv = await spawnNode([vigosrv, '--config', yaml], { VIGO_ROOT: root }, /vigosrv ready/);
    children.push(srv.child);
    const pid = srv.child.pid as number;
    await new Promise((r) => setTimeout(r, 1000));
    const rss0 = rssKb(pid);
    const addr = `127.0.0.1:${grpcPort}`;
    const tc = Date.now();
    const streams = await connectAll(addr, (i) => ({ ca: ca.cert, key: shared.key, cert: certs[i] as string }), N, 'vigosrv');
    const connectS = (Date.now() - tc) / 1000;
    await new Promise((r) => setTimeout(r, 2000));
    const rss1 = rssKb(pid);

    log('  closed loop against vigosrv…');
    const loop = await closedLoop(streams, pid, SECONDS);
    log(`  fixed cadence ${RATE}/s against vigosrv…`);
    const cad = await cadence(streams, SECONDS, RATE);

    log('  run reports (durable, group-committed) against vigosrv…');
    const runs = await runLoop(streams, pid, SECONDS);

    log(`  echo baseline (${ECHO_STREAMS} streams)…`);
    const echo = await spawnNode([fileURLToPath(import.meta.url), '--echo-server', join(tls, 'ca.crt'), join(tls, 'server.crt'), join(tls, 'server.key')], {}, /echo ready (\d+)/);
    children.push(echo.child);
    const echoStreams = await connectAll(`127.0.0.1:${echo.match[1]}`, (i) => ({ ca: ca.cert, key: shared.key, cert: certs[i] as string }), ECHO_STREAMS, 'echo');
    await closedLoop(echoStreams, echo.child.pid as number, 1); // warm-up, as vigosrv had
    const echoLoop = await closedLoop(echoStreams, echo.child.pid as number, SECONDS);
    const echoCad = await cadence(echoStreams, SECONDS, RATE);
    const vigoSample = streams.slice(0, ECHO_STREAMS);
    const sameLoop = await closedLoop(vigoSample, pid, SECONDS);

    // traits: every sampled envoy reports its traits once and takes its fleet; then no-change
    // check-ins carry both shas (what a current agent sends) and the server compares strings
    log(`  traits: ${ECHO_STREAMS} envoys report traits, then no-change check-ins with traits and fleet shas…`);
    const traits = await sampleTraits(Number(process.env.BENCH_TRAIT_USERS ?? 5), Number(process.env.BENCH_TRAIT_PROJECTS ?? 5));
    const tText = traitsText(traits);
    const tSha = traitsSha(tText);
    const fleetOf = new Map<CheckinStream, string>();
    for (const s of vigoSample) s.onFleet = (m) => void fleetOf.set(s, m.sha256);
    for (let i = 0; i < vigoSample.length; i += 100) await Promise.all(vigoSample.slice(i, i + 100).map((s) => s.checkin(0, 'bench-fingerprint-0123456789abcdef', 60_000, '', { traits_sha256: tSha, traits_json: tText, fleet_sha256: NO_FLEET_SHA })));
    const swarmFields = (s: CheckinStream) => ({ traits_sha256: tSha, traits_json: '', fleet_sha256: fleetOf.get(s) ?? NO_FLEET_SHA });
    await closedLoop(vigoSample, pid, 1, swarmFields); // every envoy's fleet settles (one rebuild per envoy after the last report)
    const traitsLoop = await closedLoop(vigoSample, pid, SECONDS, swarmFields);
    const plainAgain = await closedLoop(vigoSample, pid, SECONDS);

    log('  the agent side: traits per check-in with and without change detection…');
    const tr = await traitsRoot(dir, Number(process.env.BENCH_TRAIT_USERS ?? 5), Number(process.env.BENCH_TRAIT_PROJECTS ?? 5));
    const mk = (detect: boolean) => new TraitsCollector({ env: tr.env, users: () => tr.passwd, log: () => undefined, passwdFile: null, detect, maxAgeMs: 3_600_000 });
    const detected = perCallUs(mk(true), 500);
    const always = perCallUs(mk(false), 100);

    const perEnvoyKb = (rss1 - rss0) / N;
    const f = (x: number, d = 0) => x.toFixed(d);
    const row = (k: string, v: string, goal = '') => process.stdout.write(`${k.padEnd(50)} ${v.padEnd(26)} ${goal}\n`);
    process.stdout.write('\n');
    row('connected envoys (mTLS gRPC streams)', `${streams.length}`, `goal 10,000: ${streams.length >= 10_000 ? 'met' : 'MISSED'}`);
    row('time to connect them', `${f(connectS, 1)} s`);
    row('no-change check-ins/s (closed loop, wall)', f(loop.rate));
    row('no-change check-ins/s per server core', f(loop.perCore), `goal ≥1,500: ${loop.perCore >= 1500 ? 'met' : 'MISSED'}`);
    row('server CPU per no-change check-in', `${f(loop.cpuPerCheckinUs, 1)} µs`);
    row(`latency at ${RATE}/s cadence, p50`, `${f(cad.p50, 2)} ms (achieved ${f(cad.achieved)}/s)`);
    row(`latency at ${RATE}/s cadence, p99`, `${f(cad.p99, 2)} ms`, `goal <50 ms: ${cad.p99 < 50 ? 'met' : 'MISSED'}${cad.errors ? ` (${cad.errors} errors)` : ''}`);
    row('run reports stored/s (closed loop, group commit)', `${f(runs.rate)} (p99 ${f(runs.p99, 1)} ms)`, `${f(runs.cpuPerRunUs)} µs server CPU each`);
    row('server RSS before / after connecting', `${f(rss0 / 1024)} / ${f(rss1 / 1024)} MiB`);
    row('server RSS per connected envoy', `${f(perEnvoyKb, 1)} KB`, `goal ≤100 KB: ${perEnvoyKb <= 100 ? 'met' : 'MISSED'}`);
    row(`baseline: bare gRPC echo, ${ECHO_STREAMS} streams`, `${f(echoLoop.perCore)} /s/core, ${f(echoLoop.cpuPerCheckinUs, 1)} µs`);
    row(`vigosrv on the same ${ECHO_STREAMS} streams`, `${f(sameLoop.perCore)} /s/core, ${f(sameLoop.cpuPerCheckinUs, 1)} µs`);
    row('cost of a no-change check-in ÷ bare echo', `${f(sameLoop.cpuPerCheckinUs / echoLoop.cpuPerCheckinUs, 2)}×`);
    row(`echo latency at ${RATE}/s, p50 / p99`, `${f(echoCad.p50, 2)} / ${f(echoCad.p99, 2)} ms`);
    const tPlain = (sameLoop.cpuPerCheckinUs + plainAgain.cpuPerCheckinUs) / 2;
    row(`no-change check-in with traits + fleet shas (${ECHO_STREAMS})`, `${f(traitsLoop.perCore)} /s/core, ${f(traitsLoop.cpuPerCheckinUs, 1)} µs`, `goal ≥1,500/s/core: ${traitsLoop.perCore >= 1500 ? 'met' : 'MISSED'}`);
    row('  … without them (mean of before and after)', `${f(tPlain, 1)} µs`, `traits on ÷ off: ${f(traitsLoop.cpuPerCheckinUs / tPlain, 2)}×`);
    row(`agent traits per check-in, change detection`, `${f(detected, 1)} µs`, `(${tr.passwd.length} users, ${traits.gitback.projects.length} projects)`);
    row(`agent traits per check-in, collected every time`, `${f(always, 1)} µs`, `detection saves ${f(always / detected, 1)}×`);
    process.stdout.write('\n(the client side runs in one Node process on the same 2 cores; per-core figures divide by the server process CPU time only)\n');
    for (const s of [...streams, ...echoStreams]) s.close();
  } finally {
    cleanup();
  }
  process.exit(0);
}

if (process.argv[2] === '--echo-server') echoServer();
else await main();
