/**
 * The multi-host test bed (issue 11 item 7, SYSTEM.md §8): N "hosts", each a network
 * namespace with a loopback and one `eth0` holding a 10.77.0.x/24 address, every `eth0`
 * the far end of a veth pair whose near end is a port of one bridge. The bridge lives in a
 * namespace of its own, so the bed never adds, moves or changes a link of the root
 * namespace, and test traffic stays inside these namespaces. Multicast works: each host
 * routes 224.0.0.0/4 out of eth0 and the bridge floods it (snooping off, there is no IGMP
 * querier).
 *
 * Two subnets (issue 14): `new NetnsBed(names, { subnet2: [...] })` puts the hosts named in
 * `subnet2` on a second bridge, `br1`, with 10.78.0.x/24 addresses; a router namespace
 * (`<prefix>-rt`, 10.77.0.1 and 10.78.0.1) joins the two bridges with IPv4 forwarding on, and
 * every host has a route to the other subnet through it. The router forwards unicast only (no
 * multicast routing), so a multicast announce stays on its own subnet, as on two real LANs.
 * Without `subnet2` nothing changes: one bridge, no router.
 *
 * Names start with a per-run prefix `vigo-netns-<pid base 36>-<6 hex>`; setup first removes the
 * namespaces of earlier runs whose process is gone (a crashed or killed run), never those
 * of a live one. Each host also gets its own `VIGO_ROOT` directory, `<tmp>/vigo-netns-beds/<prefix>/<name>`,
 * set in the environment of what runs there. Everything a bed made goes away in `destroy()` — the `after` hook of
 * `useNetnsBed`, and a process 'exit' (and SIGINT/SIGTERM) handler for when that hook
 * never runs — including every process it started in its hosts.
 *
 * Root only: `netnsUnavailable()` says why a test must skip otherwise. docs/testing.md
 * describes the bed for test writers.
 */
import { spawn as spawnChild, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, after } from 'node:test';

const PREFIX_ROOT = 'vigo-netns-';
/** `vigo-netns-<pid base 36>-<6 hex>`, then `-<host>` on namespace names; nothing else matches */
const BED_NAME = /^vigo-netns-([0-9a-z]{1,8})-[0-9a-f]{6}(?:-[a-z0-9]+)?$/;
/** the hosts' VIGO_ROOT directories of every bed, and nothing else, live under here */
const ROOTS_PARENT = join(tmpdir(), 'vigo-netns-beds');
const SUBNET = '10.77.0';
const SUBNET2 = '10.78.0';
/** the router's address on each subnet (two-subnet beds only) */
const ROUTER1 = `${SUBNET}.1`;
const ROUTER2 = `${SUBNET2}.1`;
/** namespace suffixes the bed itself uses: no host may be named so */
const RESERVED = new Set(['br', 'rt']);
const IP_TIMEOUT_MS = 30_000;

export interface NetnsHost {
  /** the name the test gave it */
  name: string;
  /** its network namespace */
  ns: string;
  /** its address on the bridge */
  addr: string;
  /** the bridge port (in the bridge namespace) that links it */
  port: string;
  /** its own `VIGO_ROOT` (an empty directory); spawn/exec set it unless the env names one */
  vigoRoot: string;
  /** 1 (10.77.0.0/24, bridge br0) or 2 (10.78.0.0/24, bridge br1) */
  subnet: 1 | 2;
}

export interface NetnsBedOptions {
  /** hosts placed on the second subnet, 10.78.0.0/24, routed to the first through a router namespace */
  subnet2?: string[];
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Impairment {
  /** packets dropped, percent */
  loss?: number;
  /** added one-way delay on the host's eth0 */
  delayMs?: number;
}

function ip(args: string[], what: string): string {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  if (r.error) throw new Error(`netns bed: ${what}: ip ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`netns bed: ${what}: ip ${args.join(' ')}: ${r.stderr.trim() || `exit ${String(r.status)}`}`);
  return r.stdout;
}

function quiet(cmd: string, args: string[]): { ok: boolean; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  return { ok: r.status === 0, stderr: (r.stderr ?? '').trim() };
}

function homeBridge(h: NetnsHost): string {
  return h.subnet === 2 ? 'br1' : 'br0';
}

function listNetns(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kill what still runs inside a namespace (processes a bed started there), then remove it. */
function removeNetns(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  for (const p of (pids.stdout ?? '').split('\n')) {
    const pid = Number(p);
    if (Number.isInteger(pid) && pid > 1 && pid !== process.pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  quiet('ip', ['netns', 'delete', ns]);
}

let cachedReason: string | null | undefined;
/** Why the bed cannot run here (not root, no `ip`, namespaces refused), or null when it can. */
export function netnsUnavailable(): string | null {
  if (cachedReason !== undefined) return cachedReason;
  if (process.platform !== 'linux') return (cachedReason = `network namespaces are Linux only (this is ${process.platform})`);
  if (process.getuid?.() !== 0) return (cachedReason = 'the multi-host test bed needs root (network namespaces); CI runs npm test as root');
  const v = spawnSync('ip', ['-V'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return (cachedReason = '`ip` (iproute2) is not installed; .ci/run installs it');
  const probe = `${PREFIX_ROOT}${process.pid.toString(36)}-probe${randomBytes(2).toString('hex')}`;
  const made = quiet('ip', ['netns', 'add', probe]);
  quiet('ip', ['netns', 'delete', probe]);
  if (!made.ok) return (cachedReason = `cannot create a network namespace: ${made.stderr}`);
  return (cachedReason = null);
}

function stale(name: string): boolean {
  const m = BED_NAME.exec(name);
  if (!m) return false;
  const pid = parseInt(m[1] as string, 36);
  return pid !== process.pid && !alive(pid);
}

/** Remove namespaces (and VIGO_ROOT directories) left by bed runs whose process is gone; returns the namespaces. */
export function sweepStaleNetns(): string[] {
  const swept: string[] = [];
  for (const ns of listNetns()) {
    if (!stale(ns)) continue;
    removeNetns(ns);
    swept.push(ns);
  }
  let dirs: string[] = [];
  try {
    dirs = readdirSync(ROOTS_PARENT);
  } catch {
    /* no bed ever ran here */
  }
  for (const d of dirs) if (stale(d)) rmSync(join(ROOTS_PARENT, d), { recursive: true, force: true });
  return swept;
}

let netemCache: string | null | undefined;
/** Why netem impairments cannot be used (no sch_netem in this kernel), or null. */
function netemUnavailable(probeNs: string): string | null {
  if (netemCache !== undefined) return netemCache;
  const r = quiet('tc', ['-n', probeNs, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
  if (r.ok) {
    quiet('tc', ['-n', probeNs, 'qdisc', 'del', 'dev', 'lo', 'root']);
    return (netemCache = null);
  }
  return (netemCache = `this kernel has no sch_netem, so loss and delay cannot be simulated (tc: ${r.stderr || 'failed'})`);
}

export class NetnsBed {
  readonly prefix: string;
  readonly bridgeNs: string;
  readonly hosts: Record<string, NetnsHost> = {};
  /** null when `impair` works, else why not */
  readonly netemUnavailable: string | null;
  private readonly children = new Set<ChildProcess>();
  private groupBridges: string[] = [];
  /** the router namespace of a two-subnet bed, else null */
  readonly routerNs: string | null;
  private destroyed = false;
  /** the hosts' VIGO_ROOT directories live under here */
  readonly rootsDir: string;
  private readonly onExit = () => this.destroy();
  private readonly onSignal = (sig: NodeJS.Signals) => {
    this.destroy();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };

  /** Build the bed now (synchronous; about 10 ip commands per host). */
  constructor(names: string[], opts: NetnsBedOptions = {}) {
    const why = netnsUnavailable();
    if (why) throw new Error(`netns bed: ${why}`);
    if (names.length === 0 || names.length > 200) throw new Error('netns bed: between 1 and 200 hosts');
    if (new Set(names).size !== names.length || names.some((n) => !/^[a-z][a-z0-9]{0,15}$/.test(n))) throw new Error(`netns bed: host names must be distinct, lowercase, [a-z][a-z0-9]* (${names.join(', ')})`);
    const reserved = names.filter((n) => RESERVED.has(n));
    if (reserved.length > 0) throw new Error(`netns bed: host names ${[...RESERVED].join(', ')} are the bed's own namespaces (${reserved.join(', ')})`);
    const second = new Set(opts.subnet2 ?? []);
    for (const n of second) if (!names.includes(n)) throw new Error(`netns bed: subnet2 names ${n}, which is not a host (hosts: ${names.join(', ')})`);
    sweepStaleNetns();
    this.prefix = `${PREFIX_ROOT}${process.pid.toString(36)}-${randomBytes(3).toString('hex')}`;
    this.bridgeNs = `${this.prefix}-br`;
    this.rootsDir = join(ROOTS_PARENT, this.prefix);
    this.routerNs = second.size > 0 ? `${this.prefix}-rt` : null;
    process.on('exit', this.onExit);
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
    try {
      ip(['netns', 'add', this.bridgeNs], 'make the bridge namespace');
      ip(['-n', this.bridgeNs, 'link', 'set', 'lo', 'up'], 'bridge loopback');
      ip(['-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0'], 'make the bridge');
      ip(['-n', this.bridgeNs, 'link', 'set', 'br0', 'up'], 'bridge up');
      if (this.routerNs !== null) this.makeRouter(this.routerNs);
      mkdirSync(ROOTS_PARENT, { recursive: true, mode: 0o755 });
      mkdirSync(this.rootsDir, { mode: 0o755 });
      // test users reach their envoy's sockets under it, whatever the umask
      chmodSync(ROOTS_PARENT, 0o755);
      chmodSync(this.rootsDir, 0o755);
      names.forEach((name, i) => {
        const subnet = second.has(name) ? 2 : 1;
        const h: NetnsHost = { name, ns: `${this.prefix}-${name}`, addr: `${subnet === 2 ? SUBNET2 : SUBNET}.${10 + i}`, port: `p${i}`, vigoRoot: join(this.rootsDir, name), subnet };
        mkdirSync(h.vigoRoot, { mode: 0o755 });
        ip(['netns', 'add', h.ns], `make host ${name}`);
        ip(['-n', h.ns, 'link', 'set', 'lo', 'up'], `${name}: loopback up`);
        // made inside the bridge namespace, far end moved straight into the host's
        ip(['-n', this.bridgeNs, 'link', 'add', h.port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns], `${name}: veth pair`);
        ip(['-n', this.bridgeNs, 'link', 'set', h.port, 'master', homeBridge(h), 'up'], `${name}: bridge port`);
        ip(['-n', h.ns, 'addr', 'add', `${h.addr}/24`, 'dev', 'eth0'], `${name}: address`);
        ip(['-n', h.ns, 'link', 'set', 'eth0', 'up'], `${name}: eth0 up`);
        ip(['-n', h.ns, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0'], `${name}: multicast route`);
        if (this.routerNs !== null) {
          const [other, via] = subnet === 2 ? [SUBNET, ROUTER2] : [SUBNET2, ROUTER1];
          ip(['-n', h.ns, 'route', 'add', `${other}.0/24`, 'via', via, 'dev', 'eth0'], `${name}: route to ${other}.0/24`);
        }
        this.hosts[name] = h;
      });
    } catch (e) {
      this.destroy();
      throw e;
    }
    this.netemUnavailable = netemUnavailable(this.bridgeNs);
  }

  /**
   * The router of a two-subnet bed: its own namespace, one leg on each bridge (ports r1 on
   * br0 and r2 on br1), IPv4 forwarding on. No multicast routing daemon and no mroute
   * entries, so the kernel forwards no multicast between the legs.
   */
  private makeRouter(rt: string): void {
    ip(['-n', this.bridgeNs, 'link', 'add', 'br1', 'type', 'bridge', 'mcast_snooping', '0'], 'make the second bridge');
    ip(['-n', this.bridgeNs, 'link', 'set', 'br1', 'up'], 'second bridge up');
    ip(['netns', 'add', rt], 'make the router namespace');
    ip(['-n', rt, 'link', 'set', 'lo', 'up'], 'router loopback');
    const legs: Array<[string, string, string, string]> = [
      ['r1', 'eth1', 'br0', `${ROUTER1}/24`],
      ['r2', 'eth2', 'br1', `${ROUTER2}/24`],
    ];
    for (const [port, dev, br, addr] of legs) {
      ip(['-n', this.bridgeNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', dev, 'netns', rt], `router leg ${dev}`);
      ip(['-n', this.bridgeNs, 'link', 'set', port, 'master', br, 'up'], `router port ${port}`);
      ip(['-n', rt, 'addr', 'add', addr, 'dev', dev], `router address ${addr}`);
      ip(['-n', rt, 'link', 'set', dev, 'up'], `router ${dev} up`);
    }
    const fwd = quiet('ip', ['netns', 'exec', rt, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    if (!fwd.ok) throw new Error(`netns bed: router: cannot turn on IPv4 forwarding: ${fwd.stderr}`);
  }

  host(name: string): NetnsHost {
    const h = this.hosts[name];
    if (!h) throw new Error(`netns bed: no host ${name} (hosts: ${Object.keys(this.hosts).join(', ')})`);
    return h;
  }

  /** Start a real process inside a host (`ip netns exec`); it is killed at destroy. */
  spawn(host: string, argv: string[], opts: SpawnOptions = {}): ChildProcess {
    const h = this.host(host);
    if (argv.length === 0) throw new Error('netns bed: spawn needs a command');
    const env = { ...(opts.env ?? process.env) };
    if (opts.env?.VIGO_ROOT === undefined) env.VIGO_ROOT = h.vigoRoot;
    const child = spawnChild('ip', ['netns', 'exec', h.ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], ...opts, env });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Run a command inside a host to its end (killed after `timeoutMs`, default 60 s). */
  exec(host: string, argv: string[], opts: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(host, argv, { stdio: ['pipe', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}) });
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal, stdout, stderr });
      });
      child.stdin?.end(opts.input ?? '');
    });
  }

  /**
   * Split the hosts: each group gets a bridge of its own (its hosts' ports move there),
   * and a host named in no group has its link set down. `heal()` undoes it. In a two-subnet
   * bed each group gets a bridge per subnet, and the router goes with the first group: only
   * group 0 still routes between the subnets.
   */
  partition(groups: string[][]): void {
    const seen = new Set<string>();
    for (const g of groups) for (const n of g) {
      this.host(n);
      if (seen.has(n)) throw new Error(`netns bed: host ${n} is in two partition groups`);
      seen.add(n);
    }
    this.heal();
    groups.forEach((g, i) => {
      // a group spans both subnets in a two-subnet bed: a bridge per subnet, the router's legs with group 0
      const bridges = this.routerNs === null ? [`g${i}`] : [`g${i}`, `g${i}s`];
      for (const br of bridges) {
        ip(['-n', this.bridgeNs, 'link', 'add', br, 'type', 'bridge', 'mcast_snooping', '0'], `partition bridge ${br}`);
        ip(['-n', this.bridgeNs, 'link', 'set', br, 'up'], `partition bridge ${br} up`);
        this.groupBridges.push(br);
      }
      const bridgeOf = (subnet: 1 | 2) => bridges[subnet - 1] ?? `g${i}`;
      for (const n of g) ip(['-n', this.bridgeNs, 'link', 'set', this.host(n).port, 'master', bridgeOf(this.host(n).subnet)], `move ${n} to ${bridgeOf(this.host(n).subnet)}`);
      if (this.routerNs !== null && i === 0) {
        ip(['-n', this.bridgeNs, 'link', 'set', 'r1', 'master', bridgeOf(1)], 'move the router to group 0');
        ip(['-n', this.bridgeNs, 'link', 'set', 'r2', 'master', bridgeOf(2)], 'move the router to group 0');
      }
    });
    for (const h of Object.values(this.hosts)) if (!seen.has(h.name)) ip(['-n', this.bridgeNs, 'link', 'set', h.port, 'down'], `cut ${h.name}`);
  }

  /** Every host back on its subnet's bridge (the router on both), links up, impairments removed. */
  heal(): void {
    for (const h of Object.values(this.hosts)) {
      ip(['-n', this.bridgeNs, 'link', 'set', h.port, 'master', homeBridge(h), 'up'], `heal ${h.name}`);
      if (this.netemUnavailable === null) quiet('tc', ['-n', h.ns, 'qdisc', 'del', 'dev', 'eth0', 'root']);
    }
    if (this.routerNs !== null) {
      ip(['-n', this.bridgeNs, 'link', 'set', 'r1', 'master', 'br0'], 'router back on br0');
      ip(['-n', this.bridgeNs, 'link', 'set', 'r2', 'master', 'br1'], 'router back on br1');
    }
    for (const br of this.groupBridges) quiet('ip', ['-n', this.bridgeNs, 'link', 'delete', br]);
    this.groupBridges = [];
  }

  /** Loss and delay on a host's eth0 (tc netem); throws, saying why, when the kernel lacks netem. */
  impair(host: string, imp: Impairment): void {
    if (this.netemUnavailable !== null) throw new Error(`netns bed: ${this.netemUnavailable}`);
    const h = this.host(host);
    const args = ['-n', h.ns, 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem'];
    if (imp.delayMs !== undefined) args.push('delay', `${imp.delayMs}ms`);
    if (imp.loss !== undefined) args.push('loss', `${imp.loss}%`);
    const r = quiet('tc', args);
    if (!r.ok) throw new Error(`netns bed: tc ${args.join(' ')}: ${r.stderr}`);
  }

  /** Remove everything the bed made: its processes, its namespaces (and with them every link). Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const c of this.children) if (c.pid !== undefined && c.exitCode === null) c.kill('SIGKILL');
    for (const ns of listNetns()) if (ns.startsWith(`${this.prefix}-`)) removeNetns(ns);
    rmSync(this.rootsDir, { recursive: true, force: true });
    process.off('exit', this.onExit);
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}

/**
 * One bed for a test file (or a describe block): built in `before`, destroyed in `after`.
 * Call it only when `netnsUnavailable()` is null; the getter throws before setup.
 */
export function useNetnsBed(names: string[], opts: NetnsBedOptions = {}): () => NetnsBed {
  let bed: NetnsBed | null = null;
  before(() => {
    bed = new NetnsBed(names, opts);
  });
  after(() => bed?.destroy());
  return () => {
    if (!bed) throw new Error('netns bed: not set up yet (use it inside a test)');
    return bed;
  };
}
