// Real-process harness for server tests: vigosrv and envoys as child processes, each with
// its own VIGO_ROOT under one temp dir, loopback only, free ports. Everything started is
// stopped by `cleanup()` (register it with `after`).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api, apiRaw, type ApiTarget } from '../../src/wire/rest-client.js';
import { programBin } from '../helpers/program.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const bin = programBin;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last instanceof Error ? last.message : String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Proc {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function startProc(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Proc {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

export class Fleet {
  readonly dir = mkdtempSync(join(tmpdir(), 'vigo-e2e-'));
  private readonly procs = new Set<Proc>();
  srvRoot = join(this.dir, 'server');
  srv: Proc | undefined;
  restPort = 0;
  grpcPort = 0;
  restUrl = '';
  admin!: ApiTarget;
  /** the host vigosrv listens on; '' writes a bare :PORT (every address) */
  listenHost = '127.0.0.1';

  async writeServerYaml(extra = ''): Promise<string> {
    if (!this.restPort) this.restPort = await freePort();
    if (!this.grpcPort) this.grpcPort = await freePort();
    const file = join(this.dir, 'server.yaml');
    writeFileSync(
      file,
      `server:\n  api_listen: "${this.listenHost}:${this.restPort}"\n  grpc_listen: "${this.listenHost}:${this.grpcPort}"\n  hostname: vigosrv-test\n${extra}`,
    );
    return file;
  }

  get stacksDir(): string {
    return join(this.srvRoot, 'srv', 'vigo', 'stacks');
  }
  get dataDir(): string {
    return join(this.srvRoot, 'srv', 'vigo');
  }

  async startServer(yamlExtra = 'checkin:\n  interval: 1s\ndatabase:\n  flush_interval_ms: 200\n'): Promise<void> {
    // freePort's port can be taken before vigosrv binds it (another process's outgoing
    // connection draws from the same ephemeral range): on a first start, pick anew
    const picked = !this.restPort && !this.grpcPort;
    for (let attempt = 1; ; attempt++) {
      const file = await this.writeServerYaml(yamlExtra);
      const p = startProc([bin('vigosrv.js'), '--config', file], { VIGO_ROOT: this.srvRoot });
      this.procs.add(p);
      this.srv = p;
      const ready = await waitFor('vigosrv ready or exited', () => p.out().includes('vigosrv ready') || p.child.exitCode !== null, 30_000).then(() => p.out().includes('vigosrv ready'));
      if (ready) break;
      await p.exited;
      if (picked && attempt < 3 && /the address is in use/.test(p.out())) {
        this.restPort = 0;
        this.grpcPort = 0;
        continue;
      }
      throw new Error(`vigosrv exited before it was ready:\n${p.out()}`);
    }
    const la = JSON.parse(readFileSync(join(this.dataDir, 'local-admin.json'), 'utf8')) as { server: string; token: string; ca_file: string };
    this.restUrl = la.server;
    this.admin = { server: la.server, token: la.token, ca: readFileSync(la.ca_file, 'utf8') };
  }

  async stopServer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.srv;
    if (!p) return;
    p.child.kill(signal);
    await p.exited;
    this.procs.delete(p);
    this.srv = undefined;
  }

  /** Replace stacks/ with configcrates/<name>.vgo, usercrates/<user>.vgo and envoys.vgo. */
  writeStacks(crates: Record<string, string>, envoys: string, usercrates: Record<string, string> = {}): void {
    rmSync(this.stacksDir, { recursive: true, force: true });
    mkdirSync(join(this.stacksDir, 'configcrates'), { recursive: true });
    for (const [name, text] of Object.entries(crates)) writeFileSync(join(this.stacksDir, 'configcrates', `${name}.vgo`), text);
    if (Object.keys(usercrates).length > 0) mkdirSync(join(this.stacksDir, 'usercrates'));
    for (const [user, text] of Object.entries(usercrates)) writeFileSync(join(this.stacksDir, 'usercrates', `${user}.vgo`), text);
    writeFileSync(join(this.stacksDir, 'envoys.vgo'), envoys);
  }

  /** Run a CLI (vigocli / vigo) to completion with this server's VIGO_ROOT unless told otherwise. */
  cli(binName: string, args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [bin(binName), ...args], { env: { ...process.env, VIGO_ROOT: this.srvRoot, HOME: join(this.dir, 'home'), ...env }, encoding: 'utf8' });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  api<T>(method: string, path: string, body?: unknown, target: ApiTarget = this.admin): Promise<T> {
    return api<T>(target, method, path, body);
  }

  apiRaw<T>(method: string, path: string, body?: unknown, target: ApiTarget = this.admin) {
    return apiRaw<T>(target, method, path, body);
  }

  envoyRoot(name: string): string {
    return join(this.dir, 'envoys', name);
  }

  async enroll(name: string): Promise<string> {
    const { token } = await this.api<{ token: string }>('POST', '/api/v1/enroll/tokens', {});
    const r = this.cli('vigo.js', ['agent', 'enroll', '--server', this.restUrl, '--token', token, '--hostname', name], { VIGO_ROOT: this.envoyRoot(name) });
    if (r.status !== 0) throw new Error(`enroll ${name} failed: ${r.stderr}`);
    const id = JSON.parse(readFileSync(join(this.envoyRoot(name), 'etc', 'vigo-envoy', 'identity.json'), 'utf8')) as { envoy_id: string };
    return id.envoy_id;
  }

  startAgent(name: string, agentYaml = 'checkin:\n  interval_s: 1\n  timeout_s: 2\n'): Proc {
    const root = this.envoyRoot(name);
    mkdirSync(join(root, 'etc', 'vigo-envoy'), { recursive: true });
    writeFileSync(join(root, 'etc', 'vigo-envoy', 'agent.yaml'), agentYaml);
    const p = startProc([bin('vigo.js'), 'agent', 'run'], { VIGO_ROOT: root });
    this.procs.add(p);
    return p;
  }

  async stopProc(p: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill(signal);
    await p.exited;
    this.procs.delete(p);
  }

  async cleanup(): Promise<void> {
    for (const p of this.procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all([...this.procs].map((p) => p.exited));
    this.procs.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface EnvoyJson {
  id: string;
  hostname: string;
  status: string;
  last_seen: string | null;
  policy_version: number | null;
  last_run_status: string | null;
  change_streak: number;
  connected: boolean;
}

export interface RunJson {
  run_id: string;
  envoy_id: string;
  hostname: string;
  status: string;
  policy_version: number;
  started_at: string;
  changed: number;
}

/** An in-process envoy identity (real key, CSR, enrollment over REST) for load and crash tests. */
export async function enrollSimulated(admin: ApiTarget, hostname: string): Promise<{ id: string; tls: { ca: string; key: string; cert: string } }> {
  const { createEnvoyCsr } = await import('../../src/wire/enroll.js');
  const { token } = await api<{ token: string }>(admin, 'POST', '/api/v1/enroll/tokens', {});
  const { csr, key } = await createEnvoyCsr(hostname);
  const r = await api<{ envoy_id: string; cert: string; ca: string }>({ server: admin.server, ca: admin.ca }, 'POST', '/api/v1/enroll', { token, hostname, csr });
  return { id: r.envoy_id, tls: { ca: r.ca, key, cert: r.cert } };
}

export function sampleRunReport(policyVersion: number, status: 'ok' | 'changed' = 'ok'): string {
  return JSON.stringify({
    policy_version: policyVersion,
    started_at: new Date().toISOString(),
    duration_ms: 1,
    status,
    counts: { ok: status === 'ok' ? 1 : 0, changed: status === 'changed' ? 1 : 0, failed: 0 },
    configcrates: 1,
    resources: [{ id: 'motd:file:/etc/motd', type: 'file', status }],
  });
}
