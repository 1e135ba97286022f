// The push path's test world: envoy A's helper daemon (the real GitbackService, in this
// process, as root) with a SwarmReplicator over a real SwarmNode, and more SwarmNodes as
// peers on loopback (real mTLS under one fleet CA). Real Unix users run the real CLI and
// real git against A, always asynchronously: the daemon serves from this process.
import { after } from 'node:test';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, cryptoRng } from '../../src/platform/clock.js';
import { paths } from '../../src/platform/paths.js';
import { gitbackService, type GitbackService } from '../../src/gitback/index.js';
import { ProjectPeers, SwarmNode, SwarmReplicator } from '../../src/swarm/index.js';
import { createTestUser, removeTestUser, type TestUser } from '../helpers/users.js';
import { vigoBin } from '../helpers/program.js';
import { grantGitback, makeEnvoyRoot, userExtraEnv, type Envoy } from '../gitback/users-env.js';
import { run, type RunResult } from '../gitback/proc.js';
import { TestFleet } from './transport-fleet.js';

export interface Peer {
  node: SwarmNode;
  peers: ProjectPeers;
  /** its loopback address: the peer table keys envoys by host */
  host: string;
  envoyId: string;
  port: number;
  base: string;
  projectsDir: string;
}

export interface AsyncSh {
  vigo(args: string[], opts?: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  git(args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  /** any program, as this user */
  run(cmd: string, args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
}

export interface PushWorld {
  dir: string;
  envoy: Envoy;
  env: NodeJS.ProcessEnv;
  service: GitbackService;
  a: Peer;
  log: string[];
  users: TestUser[];
  sh: AsyncSh[];
  /** one more SwarmNode on loopback (not yet known to A) */
  peer(name: string): Promise<Peer>;
  /** A hears of `p` as a gitback envoy (a presence announce) */
  hear(p: Peer): void;
  /** A hears `p` announce that it holds the project */
  hearHolder(p: Peer, pid: string, scope: 'swarm-wide' | 'members-only'): void;
}

const fleet = TestFleet.create();

let hosts = 0;

async function startNode(dir: string, name: string, base: string, projectsDir: string): Promise<Peer> {
  const e = await (await fleet).envoy(name);
  const host = `127.0.${Math.floor(hosts / 200) + 1}.${(hosts++ % 200) + 10}`;
  const peers = new ProjectPeers({ selfHost: host, ttlMs: 3_600_000 });
  const node = new SwarmNode({
    identity: e.identity,
    envoyId: e.id,
    listenHost: host,
    port: 0,
    base,
    projectsDir,
    peers,
    clock: systemClock,
    rng: cryptoRng,
    replication: { tickMs: 3_600_000, retryBaseMs: 500, retryMaxMs: 2_000 },
    log: (l) => void writeFileSync(`${dir}.${name}.log`, `${new Date().toISOString()} ${l}\n`, { flag: 'a' }),
  });
  const { port } = await node.start();
  return { node, peers, host, envoyId: e.id, port, base, projectsDir };
}

export function asUser(envoy: Envoy, u: TestUser): AsyncSh {
  const extra = userExtraEnv(envoy, u);
  const base = { PATH: process.env.PATH, HOME: u.home, USER: u.name, LOGNAME: u.name, LANG: 'C.UTF-8', ...extra };
  const go = (cmd: string, args: string[], o: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}) =>
    run(cmd, args, { cwd: o.cwd ?? u.home, env: { ...base, ...(o.env ?? {}) }, uid: u.uid, gid: u.gid, input: o.input ?? '', timeoutMs: 120_000 });
  return {
    vigo: (args, o) => go(process.execPath, [vigoBin, ...args], o),
    git: (args, o) => go('git', args, o),
    run: (cmd, args, o) => go(cmd, args, o),
  };
}

export function okr(r: RunResult, what: string): RunResult {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** puddle init + unlock (the session helper stays up), returning the puddle's public key hex. */
export async function puddleUp(sh: AsyncSh): Promise<string> {
  okr(await sh.vigo(['swarm', 'puddle', 'init']), 'puddle init');
  okr(await sh.vigo(['swarm', 'puddle', 'unlock', '--watch-pid', '0']), 'puddle unlock');
  return okr(await sh.vigo(['swarm', 'puddle', 'pubkey']), 'puddle pubkey').stdout.trim().replace(/^ed25519:/, '');
}

/** A work tree in the user's home with one commit. */
export async function workTree(sh: AsyncSh, u: TestUser, name: string): Promise<string> {
  const work = join(u.home, name);
  okr(await sh.git(['init', '-q', '-b', 'main', work]), 'git init');
  await commit(sh, work, 'README', `${name}\n`, 'first commit');
  return work;
}

export async function commit(sh: AsyncSh, work: string, file: string, text: string, message: string): Promise<string> {
  okr(await sh.run('sh', ['-c', `printf '%s' "$1" > "$2"`, 'sh', text, file], { cwd: work }), 'write file');
  okr(await sh.git(['add', file], { cwd: work }), 'git add');
  okr(await sh.git(['commit', '-qm', message], { cwd: work }), 'git commit');
  return okr(await sh.git(['rev-parse', 'HEAD'], { cwd: work }), 'rev-parse').stdout.trim();
}

export async function pushWorld(tag: string, names: string[], gitback: Record<string, unknown> = {}): Promise<PushWorld> {
  const dir = mkdtempSync(join(tmpdir(), `vgt-${tag}-`));
  chmodSync(dir, 0o755);
  const users: TestUser[] = [];
  const sh: AsyncSh[] = [];
  const peers: Peer[] = [];
  let service: GitbackService | null = null;
  after(async () => {
    for (const s of sh) await s.vigo(['swarm', 'puddle', 'lock']);
    await service?.stop();
    for (const p of peers) await p.node.close();
    for (const u of users) removeTestUser(u);
    rmSync(dir, { recursive: true, force: true });
  });
  const envoy = makeEnvoyRoot(dir);
  for (const n of names) {
    const u = createTestUser(`${tag}${n}`);
    users.push(u);
    grantGitback(envoy, u);
  }
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, users.map((u) => `${u.name}:x:${u.uid}:${u.gid}::${u.home}:/bin/sh`).join('\n') + '\n');
  const env = { ...process.env, VIGO_ROOT: envoy.root };
  const log: string[] = [];
  service = gitbackService({ file: join(dir, 'agent.yaml'), sections: { gitback: { passwd_file: passwd, sweep_interval_s: 3600, ...gitback } } }, systemClock);
  // the daemon's log outlives the test directory (read it when a test fails)
  const logFile = `${dir}.log`;
  await service.start({ config: { file: join(dir, 'agent.yaml'), sections: {} }, env, log: (m) => (log.push(m), writeFileSync(logFile, `${new Date().toISOString()} ${m}\n`, { flag: 'a' })) });
  const a = await startNode(dir, 'a', paths.gitbackBase(env), paths.gitbackProjects(env));
  peers.push(a);
  service.setReplicator(new SwarmReplicator(a.node));
  for (const u of users) sh.push(asUser(envoy, u));
  return {
    dir,
    envoy,
    env,
    service,
    a,
    log,
    users,
    sh,
    peer: async (name) => {
      const base = join(dir, name, 'gitback');
      mkdirSync(base, { recursive: true, mode: 0o700 });
      const p = await startNode(dir, name, base, join(base, 'projects'));
      peers.push(p);
      return p;
    },
    hear: (p) => void a.peers.observe({ kind: 'envoy', host: p.host, envoyId: p.envoyId, port: p.port }, Date.now()),
    hearHolder: (p, pid, scope) => {
      a.peers.observe({ kind: 'envoy', host: p.host, envoyId: p.envoyId, port: p.port }, Date.now());
      a.peers.observe({ kind: 'project', host: p.host, projectId: pid, handle: 'x', scope }, Date.now());
    },
  };
}
