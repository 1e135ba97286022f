// The spanner-with-stacks bed of issue 15, shared by test/e2e/spanner-stacks.test.ts and
// bench/spanner-publish.bench.ts: three hosts of a netns bed (a, b, c), each running a
// vigosrv bolt and a `vigo agent run` envoy enrolled at it (gitback and swarm enabled, port
// 1531 in each namespace), sharing the host's VIGO_ROOT as on one machine; a fourth host (d)
// runs only an envoy, enrolled at A, with no ops-puddle. `setup()` runs the operator flow
// of the page: spanner init on A, invite and join B and C; ops-puddle init on A, pair +
// join to B and C; stacks init on A, stacks join on B and C. `destroy()` removes the bed
// whatever happened.
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { NetnsBed } from '../helpers/netns.js';
import { programBin } from '../helpers/program.js';
import { until } from './swarm-fleet.js';

export const BOLTS = ['a', 'b', 'c'] as const;
export const HOSTS = [...BOLTS, 'd'] as const;
const API = 8443;
export const MOTD = (c: string): string => `name: motd\nresources:\n  - type: file\n    path: /tmp/vigo-stacks-motd-{{ .Envoy.hostname }}\n    content: "${c}"\n    mode: "0644"\n`;
const ENVOYS = 'envoys:\n  - match: "*"\n    configcrates: [motd]\n';
/** this host's own vigosrv: after `auth login --server <A>` a plain vigocli on B or C talks to A */
export const SELF = ['--server', `https://127.0.0.1:${API}`];

export interface StacksStatus {
  stacks: { project_id: string | null; commit: string | null; error: { commit: string; problem: string } | null } | null;
  bolts: { bolt_id: string; stacks: { commit: string | null; error: { commit: string; problem: string } | null } | null }[];
}

export class StacksBed {
  bed!: NetnsBed;
  /** the stacks project id, once set up */
  pid = '';
  readonly dir = mkdtempSync(join(tmpdir(), 'vgt-spanner-stacks-'));
  private readonly srv = new Map<string, ChildProcess>();
  private readonly agents = new Map<string, ChildProcess>();

  root(h: string): string {
    return this.bed.host(h).vigoRoot;
  }
  url(h: string): string {
    return `https://${this.bed.host(h).addr}:${API}`;
  }
  dataDir(h: string): string {
    return join(this.root(h), 'srv/vigo');
  }
  bare(h: string, pid = this.pid): string {
    return join(this.root(h), 'var/lib/vigo/swarm/gitback/projects', `${pid}.git`);
  }
  log(f: string): string {
    return existsSync(join(this.dir, f)) ? readFileSync(join(this.dir, f), 'utf8') : '';
  }
  /** the tails of every log, for a failure's message */
  logs = (): string => HOSTS.map((h) => `--- ${h} vigosrv ---\n${this.log(`srv-${h}.log`).slice(-3000)}\n--- ${h} agent ---\n${this.log(`agent-${h}.log`).slice(-3000)}`).join('\n');

  async cli(h: string, args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return this.bed.exec(h, [process.execPath, programBin('vigocli.js'), ...args], { env: { ...process.env, VIGO_ROOT: this.root(h), HOME: join(this.root(h), 'admin-home') }, input, timeoutMs: 120_000 });
  }
  async ok(h: string, args: string[], input = ''): Promise<string> {
    const r = await this.cli(h, args, input);
    if (r.code !== 0) throw new Error(`${h}: vigocli ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }
  async status(h: string): Promise<StacksStatus> {
    return JSON.parse(await this.ok(h, [...SELF, 'spanner', 'status', '--json'])) as StacksStatus;
  }
  /** refs/heads/main of host h's stacks bare repo (null: none yet) */
  head(h: string, pid = this.pid): string | null {
    try {
      return execFileSync('git', ['--git-dir', this.bare(h, pid), 'rev-parse', '-q', '--verify', 'refs/heads/main'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  }

  private serverYaml(h: string): string {
    const a = this.bed.host('a').addr;
    return [
      'server:',
      `  api_listen: ":${API}"`,
      '  grpc_listen: ":1530"',
      `  hostname: bolt-${h}`,
      `  tls_sans: ["${this.bed.host(h).addr}"]`,
      'checkin:\n  interval: 1s',
      'database:\n  flush_interval_ms: 200',
      'swarm:\n  enabled: ["*"]\n  gitback:\n    enabled: ["*"]',
      'spanner:',
      `  mode: ${h === 'a' ? 'hub' : 'spoke'}`,
      '  spanner_id: acme-prod',
      `  bolt_id: bolt-${h}`,
      `  advertise: ${this.bed.host(h).addr}:${API}`,
      `  patterns: ["env-${h}*"]`,
      '  gossip_interval_s: 1',
      h === 'a' ? '' : `  hub_addr: ${a}:${API}`,
      '',
    ].join('\n');
  }

  async startServer(h: string): Promise<void> {
    const file = join(this.dir, `server-${h}.yaml`);
    if (!existsSync(file)) writeFileSync(file, this.serverYaml(h));
    const fd = openSync(join(this.dir, `srv-${h}.log`), 'a');
    const before = this.log(`srv-${h}.log`).split('vigosrv ready').length;
    this.srv.set(h, this.bed.spawn(h, [process.execPath, programBin('vigosrv.js'), '--config', file], { env: { ...process.env, VIGO_ROOT: this.root(h) }, stdio: ['ignore', fd, fd] }));
    closeSync(fd);
    await until(
      `${h}: vigosrv ready`,
      () => {
        if (this.srv.get(h)?.exitCode !== null) throw new Error(`${h}: vigosrv exited:\n${this.log(`srv-${h}.log`)}`);
        return this.log(`srv-${h}.log`).split('vigosrv ready').length > before;
      },
      this.logs,
      60_000,
    );
  }

  async stopServer(h: string, signal: NodeJS.Signals): Promise<void> {
    const p = this.srv.get(h);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await gone;
  }

  private async enrollAndRun(envoyHost: string, at: string): Promise<void> {
    const tok = JSON.parse(await this.ok(at, ['enroll', 'token', 'create', '--json', '--hostname', `env-${envoyHost}`])) as { token: string };
    const r = await this.bed.exec(envoyHost, [process.execPath, programBin('vigo.js'), 'agent', 'enroll', '--server', this.url(at), '--token-file', '-', '--hostname', `env-${envoyHost}`], { input: `${tok.token}\n`, env: { ...process.env, VIGO_ROOT: this.root(envoyHost) } });
    if (r.code !== 0) throw new Error(`enroll env-${envoyHost} at ${at}:\n${r.stdout}\n${r.stderr}`);
    const cfg = join(this.root(envoyHost), 'etc/vigo-envoy/agent.yaml');
    const addr = this.bed.host(envoyHost).addr;
    writeFileSync(cfg, `checkin:\n  interval_s: 1\n  timeout_s: 5\ngitback:\n  sweep_interval_s: 0.5\nswarm:\n  announce_host: "${addr}"\n  announce_interface: "${addr}"\n  catchup_interval_s: 2\n`);
    const fd = openSync(join(this.dir, `agent-${envoyHost}.log`), 'a');
    this.agents.set(envoyHost, this.bed.spawn(envoyHost, [process.execPath, programBin('vigo.js'), 'agent', 'run', '--config', cfg], { env: { ...process.env, VIGO_ROOT: this.root(envoyHost) }, stdio: ['ignore', fd, fd] }));
    closeSync(fd);
  }

  /** The page's operator flow, from nothing to a stacks project on all three bolts. */
  async setup(): Promise<void> {
    this.bed = new NetnsBed([...HOSTS]);
    const ok = this.ok.bind(this);
    for (const h of HOSTS) for (const d of ['var/lib/vigo', 'var/run/vigo', 'etc/vigo-envoy', 'admin-home']) mkdirSync(join(this.root(h), d), { recursive: true, mode: 0o755 });
    for (const h of BOLTS) {
      mkdirSync(join(this.dataDir(h), 'stacks', 'configcrates'), { recursive: true });
      writeFileSync(join(this.dataDir(h), 'stacks', 'configcrates', 'motd.vgo'), MOTD('zero'));
      writeFileSync(join(this.dataDir(h), 'stacks', 'envoys.vgo'), ENVOYS);
    }
    await Promise.all(BOLTS.map((h) => this.startServer(h)));
    // the spanner: init on A, invite + join B and C
    await ok('a', ['spanner', 'init']);
    for (const h of ['b', 'c']) {
      const f = join(this.root('a'), `${h}.invite`);
      await ok('a', ['spanner', 'bolt', 'invite', '--ttl', '10m', '--out', f]);
      await ok(h, ['spanner', 'bolt', 'join', '--from', this.url('a'), '--code', `@${f}`]);
    }
    for (const h of BOLTS) await until(`${h} lists 3 bolts`, async () => ((await this.status(h)).bolts ?? []).length === 3, this.logs, 60_000);
    // envoys: one at each bolt, and d (no vigosrv, no ops-puddle) at A
    for (const h of BOLTS) await ok(h, ['config', 'publish', '--bolt-only']);
    await Promise.all([...BOLTS.map((h) => this.enrollAndRun(h, h)), this.enrollAndRun('d', 'a')]);
    // the ops-puddle: init on A, pair + join B and C (admin login to A first)
    for (const h of BOLTS) await ok(h, ['secrets', 'unlock']);
    await ok('a', ['spanner', 'ops-puddle', 'init', 'acme-ops']);
    const la = JSON.parse(readFileSync(join(this.dataDir('a'), 'local-admin.json'), 'utf8')) as { token: string; ca_file: string };
    for (const h of ['b', 'c']) {
      const ca = join(this.root(h), 'a-ca.crt');
      writeFileSync(ca, readFileSync(la.ca_file));
      await ok(h, ['auth', 'login', '--server', this.url('a'), '--token', la.token, '--ca', ca]);
      const pair = JSON.parse(await ok('a', ['spanner', 'ops-puddle', 'pair', '--url', this.url('a'), '--json'])) as { code: string };
      await ok(h, ['spanner', 'ops-puddle', 'join', '--from', this.url('a'), '--code', '-'], `${pair.code}\n`);
    }
    // the stacks project: init on A (imports A's stacks), join on B and C
    await ok('a', ['spanner', 'stacks', 'init']);
    for (const h of ['b', 'c']) await ok(h, ['spanner', 'stacks', 'join']);
    this.pid = (await this.status('a')).stacks?.project_id ?? '';
    if (this.pid === '') this.pid = (await until('A finds the stacks project', async () => (await this.status('a')).stacks?.project_id, this.logs, 30_000)) ?? '';
  }

  /** Waits until every bolt serves A's head (the catch-up after `stacks join`). */
  async converged(ms = 120_000): Promise<string> {
    const h0 = this.head('a');
    if (h0 === null) throw new Error('A holds no stacks head');
    for (const h of BOLTS) await until(`${h} serves ${h0.slice(0, 12)}`, async () => this.head(h) === h0 && (await this.status(h)).stacks?.commit === h0, this.logs, ms);
    return h0;
  }

  destroy(): void {
    this.bed?.destroy();
    if (process.env.VIGO_KEEP_FLEET_LOGS === undefined) rmSync(this.dir, { recursive: true, force: true });
  }
}
