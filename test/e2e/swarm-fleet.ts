/**
 * The swarm fleet bed (issue 11 "What it must show"): one vigosrv and several envoys, each
 * a real `vigo agent run` in its own host of the netns bed (test/helpers/netns.ts), with
 * its own VIGO_ROOT, enrolled with a real one-time token and checking in; a server.yaml
 * with `swarm.*` hostname patterns; real Unix users, one per envoy, with real puddles
 * (`vigo swarm puddle init` + `unlock`, as that user) and the usercrate grants published
 * as stacks (the agent writes them). docs/testing.md "The swarm fleet bed" says why it is
 * built this way.
 *
 *   const fleet = useSwarmFleet({ envoys: [{ host: 'a', hostname: 'env-a', user: 'alice' }, …] });
 *   test('…', async () => { const f = fleet(); await f.user('a').git([...]); f.refs('b', pid); });
 *
 * vigosrv runs in a host of its own (`srv`, 10.77.0.10): the root namespace cannot reach
 * the bed, and an envoy must reach its server over the bed's network, as on a LAN. The
 * test process talks to vigosrv through `vigocli` run inside `srv` (its local-admin login).
 * Users' commands run from the root namespace: they reach their envoy only through its Unix
 * sockets (the helper daemon's, the puddle session helper's), which are files, not network.
 */
import { after, before } from 'node:test';
import { closeSync, chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { NetnsBed } from '../helpers/netns.js';
import { createTestUser, removeTestUser, userEnv, type TestUser } from '../helpers/users.js';
import { userExtraEnv } from '../gitback/users-env.js';
import { programBin } from '../helpers/program.js';
import { run, type RunResult } from '../gitback/proc.js';
import { refsOf } from '../swarm/runtime-bed.js';

/** vigosrv's own host in the bed, and the ports it listens on there (its namespace is private) */
export const SRV_HOST = 'srv';
const API_PORT = 8443;

export interface EnvoySpec {
  /** the bed host (lowercase, short) */
  host: string;
  /** the hostname it enrolls with: what server.yaml's swarm patterns match */
  hostname: string;
  /** its one local user (a tag for the test user's name), or none */
  user?: string;
  /** 2: the envoy sits on the bed's second subnet (10.78.0.0/24), routed to vigosrv's; default 1 */
  subnet?: 1 | 2;
}

export interface FleetOptions {
  envoys: EnvoySpec[];
  /** the `swarm:` section of server.yaml (YAML, indented two spaces under `swarm:`) */
  serverSwarm: string;
  /** extra keys of agent.yaml's `swarm:` section (short ticks and announces for tests) */
  agentSwarm?: Record<string, unknown>;
  /** agent.yaml `gitback:` keys beyond passwd_file */
  agentGitback?: Record<string, unknown>;
  /** agent.yaml `checkin:` keys beyond the 1 s interval (e.g. traits: false: no server peer hints) */
  agentCheckin?: Record<string, unknown>;
}

export interface UserShell {
  u: TestUser;
  vigo(args: string[], opts?: { cwd?: string; input?: string; timeoutMs?: number }): Promise<RunResult>;
  git(args: string[], opts?: { cwd?: string; input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** a node script run as the user, in the user's environment (e.g. a probe that signs with the user's puddle session) */
  node(args: string[], opts?: { cwd?: string; input?: string; timeoutMs?: number }): Promise<RunResult>;
}

export interface FleetEnvoy {
  spec: EnvoySpec;
  root: string;
  addr: string;
  logFile: string;
  agent: ChildProcess | null;
  envoyId: string;
  shell: UserShell | null;
}

export function ok(r: RunResult, what: string): RunResult {
  if (r.status !== 0) throw new Error(`${what} failed (${String(r.status)}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

/** Write `file` in the user's work tree, commit it as the user; returns the new HEAD. */
export async function commitAs(sh: UserShell, dir: string, file: string, message: string): Promise<string> {
  writeFileSync(join(dir, file), `${message}\n`);
  chownSync(join(dir, file), sh.u.uid, sh.u.gid);
  ok(await sh.git(['add', file], { cwd: dir }), 'git add');
  ok(await sh.git(['commit', '-qm', message], { cwd: dir }), 'git commit');
  return ok(await sh.git(['rev-parse', 'HEAD'], { cwd: dir }), 'rev-parse').stdout.trim();
}

/** Poll until `cond` holds (checked every 200 ms); on a timeout the error carries `log()`. */
export async function until<T>(what: string, cond: () => T | undefined | null | false | Promise<T | undefined | null | false>, log: () => string = () => '', ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not reached in ${ms / 1000} s\n${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function yamlSection(name: string, keys: Record<string, unknown>): string {
  const entries = Object.entries(keys);
  if (entries.length === 0) return '';
  return `${name}:\n${entries.map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n')}\n`;
}

function shellFor(u: TestUser, root: string): UserShell {
  // the user's own HOME, USER, LANG; its envoy's VIGO_ROOT, the program first on PATH, the puddle passphrase, git names
  const env = userEnv(u, userExtraEnv({ root }, u));
  const as = (cmd: string, args: string[], o: { cwd?: string; input?: string; timeoutMs?: number } = {}): Promise<RunResult> =>
    run(cmd, args, { cwd: o.cwd ?? u.home, env, uid: u.uid, gid: u.gid, input: o.input ?? '', timeoutMs: o.timeoutMs ?? 90_000 });
  return {
    u,
    vigo: (args, o) => as(process.execPath, [programBin('vigo.js'), ...args], o),
    git: (args, o) => as('git', args, o),
    node: (args, o) => as(process.execPath, args, o),
  };
}

export class SwarmFleet {
  readonly dir = mkdtempSync(join(tmpdir(), 'vgt-swarm-fleet-'));
  readonly bed: NetnsBed;
  readonly envoys = new Map<string, FleetEnvoy>();
  private srv: ChildProcess | null = null;
  private readonly users: TestUser[] = [];
  private stopped = false;

  constructor(readonly opts: FleetOptions) {
    chmodSync(this.dir, 0o755);
    try {
      const subnet2 = opts.envoys.filter((e) => e.subnet === 2).map((e) => e.host);
      this.bed = new NetnsBed([SRV_HOST, ...opts.envoys.map((e) => e.host)], subnet2.length > 0 ? { subnet2 } : {});
    } catch (e) {
      rmSync(this.dir, { recursive: true, force: true });
      throw e;
    }
    for (const spec of opts.envoys) {
      const h = this.bed.host(spec.host);
      // users reach the helper socket and their usercrate policy under the envoy's root
      for (const d of ['var', 'var/lib', 'var/lib/vigo', 'var/run', 'var/run/vigo']) mkdirSync(join(h.vigoRoot, d), { recursive: true, mode: 0o755 });
      this.envoys.set(spec.host, { spec, root: h.vigoRoot, addr: h.addr, logFile: join(this.dir, `agent-${spec.host}.log`), agent: null, envoyId: '', shell: null });
    }
  }

  get srvRoot(): string {
    return this.bed.host(SRV_HOST).vigoRoot;
  }
  get serverUrl(): string {
    return `https://${this.bed.host(SRV_HOST).addr}:${API_PORT}`;
  }

  envoy(host: string): FleetEnvoy {
    const e = this.envoys.get(host);
    if (!e) throw new Error(`swarm fleet: no envoy ${host}`);
    return e;
  }

  /** The envoy's local user's shell. */
  user(host: string): UserShell {
    const s = this.envoy(host).shell;
    if (!s) throw new Error(`swarm fleet: envoy ${host} has no user`);
    return s;
  }

  /** The agent's log so far (stderr and stdout). */
  log(host: string): string {
    const f = this.envoy(host).logFile;
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }
  srvLog(): string {
    const f = join(this.dir, 'vigosrv.log');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }
  /** Every agent's log, tail first-to-last, for a failure message. */
  logs(): string {
    return [...this.envoys.keys()].map((h) => `--- agent ${h} ---\n${this.log(h).slice(-6000)}`).join('\n');
  }

  bareRepo(host: string, pid: string): string {
    return join(this.envoy(host).root, 'var/lib/vigo/swarm/gitback/projects', `${pid}.git`);
  }
  refs(host: string, pid: string): Record<string, string> {
    return refsOf(this.bareRepo(host, pid));
  }

  /** The envoy's envelope store directory (revokes/ and leaves/ per project). */
  envelopeDir(host: string): string {
    return join(this.envoy(host).root, 'var/lib/vigo/swarm/gitback/envelopes');
  }

  /** The envelope ids the envoy's store holds for a project, of one kind (a file per id and contributing uid). */
  envelopeIds(host: string, pid: string, kind: 'revokes' | 'leaves'): string[] {
    const dir = join(this.envelopeDir(host), pid, kind);
    if (!existsSync(dir)) return [];
    return [...new Set(readdirSync(dir).map((f) => /^([0-9a-f]{64})(?:\.u\d+)?\.json$/.exec(f)?.[1]).filter((x): x is string => x !== undefined))].sort();
  }

  /** The passwd file the envoy's agent reads its one local user from. */
  passwdFile(host: string): string {
    return join(this.dir, `passwd-${host}`);
  }

  /** vigocli inside vigosrv's host, with its local-admin login. */
  async vigocli(args: string[]): Promise<RunResult> {
    const r = await this.bed.exec(SRV_HOST, [process.execPath, programBin('vigocli.js'), ...args], { env: { ...process.env, VIGO_ROOT: this.srvRoot, HOME: join(this.dir, 'admin-home') }, timeoutMs: 60_000 });
    return { status: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  async start(): Promise<void> {
    await this.startServer();
    this.makeUsers();
    await Promise.all(this.opts.envoys.map((e) => this.enroll(e.host)));
    await this.publishGrants();
    for (const e of this.opts.envoys) this.startAgent(e.host);
    await until('every envoy connected', async () => {
      const r = await this.vigocli(['envoys', 'list', '--json']);
      if (r.status !== 0) return false;
      const list = (JSON.parse(r.stdout) as { envoys: Array<{ hostname: string; connected: boolean }> }).envoys;
      return this.opts.envoys.every((e) => list.some((x) => x.hostname === e.hostname && x.connected));
    }, () => this.logs(), 90_000);
    for (const e of this.envoys.values()) {
      if (!e.shell) continue;
      const policy = join(e.root, 'var/lib/vigo/usercrate-policy', `${e.shell.u.name}.json`);
      await until(`${e.spec.host}: the agent writes ${e.shell.u.name}'s usercrate policy`, () => existsSync(policy), () => this.log(e.spec.host), 90_000);
    }
  }

  private async startServer(): Promise<void> {
    const file = join(this.dir, 'server.yaml');
    const srvAddr = this.bed.host(SRV_HOST).addr;
    writeFileSync(
      file,
      [
        'server:',
        `  api_listen: ":${API_PORT}"`,
        '  grpc_listen: ":1530"',
        '  hostname: vigosrv-bed',
        `  tls_sans: ["${srvAddr}"]`,
        'checkin:',
        '  interval: 1s',
        'database:',
        '  flush_interval_ms: 200',
        this.opts.serverSwarm.trim() === '' ? '' : `swarm:\n${this.opts.serverSwarm}`,
        '',
      ].join('\n'),
    );
    const logFile = join(this.dir, 'vigosrv.log');
    const fd = openSync(logFile, 'a');
    this.srv = this.bed.spawn(SRV_HOST, [process.execPath, programBin('vigosrv.js'), '--config', file], { env: { ...process.env, VIGO_ROOT: this.srvRoot }, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    await until('vigosrv ready', () => {
      if (this.srv?.exitCode !== null) throw new Error(`vigosrv exited:\n${this.srvLog()}`);
      return this.srvLog().includes('vigosrv ready');
    }, () => this.srvLog(), 60_000);
  }

  private makeUsers(): void {
    for (const e of this.envoys.values()) {
      if (e.spec.user === undefined) continue;
      const u = createTestUser(`sw${e.spec.user}`);
      this.users.push(u);
      e.shell = shellFor(u, e.root);
      // each agent sees only its own user: users are host-wide, their homes shared by every envoy
      writeFileSync(join(this.dir, `passwd-${e.spec.host}`), `${u.name}:x:${u.uid}:${u.gid}::${u.home}:/bin/sh\n`);
    }
  }

  private async enroll(host: string): Promise<void> {
    const e = this.envoy(host);
    const tok = ok(await this.vigocli(['enroll', 'token', 'create', '--json', '--hostname', e.spec.hostname]), `token for ${e.spec.hostname}`);
    const token = (JSON.parse(tok.stdout) as { token: string }).token;
    const r = await this.bed.exec(host, [process.execPath, programBin('vigo.js'), 'agent', 'enroll', '--server', this.serverUrl, '--token-file', '-', '--hostname', e.spec.hostname], { input: `${token}\n`, env: { ...process.env, VIGO_ROOT: e.root } });
    if (r.code !== 0) throw new Error(`enroll ${e.spec.hostname} failed:\n${r.stdout}\n${r.stderr}`);
    e.envoyId = (JSON.parse(readFileSync(join(e.root, 'etc/vigo-envoy/identity.json'), 'utf8')) as { envoy_id: string }).envoy_id;
  }

  /** Stacks granting each envoy's user puddle and gitback there (the agent writes the policy), published. */
  private async publishGrants(): Promise<void> {
    const stacks = join(this.srvRoot, 'srv/vigo/stacks');
    rmSync(stacks, { recursive: true, force: true });
    mkdirSync(join(stacks, 'configcrates'), { recursive: true });
    mkdirSync(join(stacks, 'usercrates'), { recursive: true });
    writeFileSync(join(stacks, 'configcrates', 'motd.vgo'), 'name: motd\nresources:\n  - type: file\n    path: /etc/motd\n    content: "{{ .Envoy.hostname }}\\n"\n    mode: "0644"\n');
    const blocks: string[] = [];
    for (const e of this.envoys.values()) {
      const users = e.shell ? [e.shell.u.name] : [];
      for (const u of users) writeFileSync(join(stacks, 'usercrates', `${u}.vgo`), `name: ${u}\nresources:\n  - type: user\n    name: ${u}\n    puddle: true\n    gitback: true\n`);
      blocks.push(`  - match: "${e.spec.hostname}"\n    configcrates: [motd]\n    usercrates: [${users.join(', ')}]\n`);
    }
    writeFileSync(join(stacks, 'envoys.vgo'), `envoys:\n${blocks.join('')}`);
    ok(await this.vigocli(['config', 'publish', '--json']), 'config publish');
  }

  /** (Re)start the envoy's agent; its log file is appended to. */
  startAgent(host: string): ChildProcess {
    const e = this.envoy(host);
    const cfg = join(e.root, 'etc/vigo-envoy/agent.yaml');
    mkdirSync(join(e.root, 'etc/vigo-envoy'), { recursive: true });
    const gitback = { sweep_interval_s: 0.5, ...(e.shell ? { passwd_file: join(this.dir, `passwd-${host}`) } : {}), ...this.opts.agentGitback };
    // peers dial the announced host: the envoy's bed address (its hostname resolves nowhere here)
    const swarm = { announce_host: e.addr, announce_interface: e.addr, ...this.opts.agentSwarm };
    writeFileSync(cfg, yamlSection('checkin', { interval_s: 1, timeout_s: 5, ...this.opts.agentCheckin }) + yamlSection('gitback', gitback) + yamlSection('swarm', swarm));
    const fd = openSync(e.logFile, 'a');
    e.agent = this.bed.spawn(host, [process.execPath, programBin('vigo.js'), 'agent', 'run', '--config', cfg], { env: { ...process.env, VIGO_ROOT: e.root }, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    return e.agent;
  }

  /** Stop the envoy's agent (SIGKILL: a crash) and wait until it is gone. */
  async stopAgent(host: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.envoy(host).agent;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
  }

  /** As the envoy's user: `git init` dir, a first commit, `vigo swarm gitback project init <handle> [args]` there; the project id and init's output. */
  async found(host: string, dir: string, handle: string, args: string[] = []): Promise<{ pid: string; stdout: string }> {
    const sh = this.user(host);
    ok(await sh.git(['init', '-q', '-b', 'main', dir]), 'git init');
    await commitAs(sh, dir, 'README', `${handle} founding`);
    const init = ok(await sh.vigo(['swarm', 'gitback', 'project', 'init', handle, ...args], { cwd: dir }), `project init ${handle}`);
    const pid = new RegExp(`gitback://([0-9a-f]{64})/${handle}`).exec(init.stdout)?.[1];
    if (pid === undefined) throw new Error(`project init ${handle}: no project id in its output:\n${init.stdout}`);
    return { pid, stdout: init.stdout };
  }

  /** puddle init + unlock (watching this test process) for every envoy's user, in parallel; returns host → pubkey hex. */
  async puddles(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await Promise.all(
      [...this.envoys.values()].filter((e) => e.shell).map(async (e) => {
        const sh = e.shell as UserShell;
        ok(await sh.vigo(['swarm', 'puddle', 'init']), `${e.spec.host}: puddle init`);
        // the session helper locks by itself when the test process goes (even SIGKILLed)
        ok(await sh.vigo(['swarm', 'puddle', 'unlock', '--watch-pid', String(process.pid)]), `${e.spec.host}: puddle unlock`);
        out.set(e.spec.host, ok(await sh.vigo(['swarm', 'puddle', 'pubkey']), `${e.spec.host}: puddle pubkey`).stdout.trim().replace(/^ed25519:/, ''));
      }),
    );
    return out;
  }

  /** Everything goes: puddles locked, agents and vigosrv killed, namespaces, users, files. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all([...this.envoys.values()].map((e) => e.shell?.vigo(['swarm', 'puddle', 'lock'], { timeoutMs: 20_000 })));
    this.bed.destroy();
    for (const u of this.users) removeTestUser(u);
    if (process.env.VIGO_KEEP_FLEET_LOGS === undefined) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One fleet for a test file: built and started in `before`, stopped in `after` (whatever happened). */
export function useSwarmFleet(opts: FleetOptions): () => SwarmFleet {
  let fleet: SwarmFleet | null = null;
  before(async () => {
    fleet = new SwarmFleet(opts);
    await fleet.start();
  }, { timeout: 240_000 });
  after(async () => {
    await fleet?.stop();
  }, { timeout: 60_000 });
  return () => {
    if (!fleet) throw new Error('swarm fleet: not started (use it inside a test)');
    return fleet;
  };
}
