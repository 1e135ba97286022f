// Shared by the spanner e2e tests: three bolts as vigosrv processes (own VIGO_ROOT, own
// loopback ports) formed into one spanner, and real envoys (`vigo agent enroll` / `vigo
// agent run`, each with its own VIGO_ROOT) enrolled at any bolt.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, bin, freePort, waitFor, type EnvoyJson, type RunJson } from '../server/harness.js';
import { enrollEnvoy } from '../../src/agent/index.js';

export interface BoltSpec {
  fleet: Fleet;
  id: string;
  mode: 'hub' | 'spoke';
  patterns: string[];
  /** its server.yaml extra, kept for a restart */
  yaml?: string;
}

export async function spannerYaml(f: Fleet, mode: 'hub' | 'spoke', boltId: string, patterns: string[], hub?: Fleet, checkinInterval = '1s'): Promise<string> {
  if (!f.restPort) f.restPort = await freePort();
  return (
    `checkin:\n  interval: ${checkinInterval}\ndatabase:\n  flush_interval_ms: 200\n` +
    `spanner:\n  mode: ${mode}\n  spanner_id: acme-prod\n  bolt_id: ${boltId}\n  advertise: 127.0.0.1:${f.restPort}\n` +
    `  patterns: [${patterns.map((p) => JSON.stringify(p)).join(', ')}]\n  gossip_interval_s: 1\n` +
    (hub ? `  hub_addr: 127.0.0.1:${hub.restPort}\n` : '')
  );
}

export function cliOk(f: Fleet, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = f.cli('vigocli.js', args, env);
  assert.equal(r.status, 0, `vigocli ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** vigocli with `input` on stdin (a typed confirmation), asynchronously (the servers keep serving). */
export function cliAsync(f: Fleet, args: string[], input = ''): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin('vigocli.js'), ...args], { env: { ...process.env, VIGO_ROOT: f.srvRoot, HOME: join(f.dir, 'home') }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input);
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Start the bolts, found the spanner on the hub, invite and join the spokes; wait until every bolt lists every bolt. */
export async function formSpanner(bolts: BoltSpec[], agentInterval = '1s'): Promise<void> {
  const hub = bolts.find((b) => b.mode === 'hub')!;
  hub.yaml = await spannerYaml(hub.fleet, 'hub', hub.id, hub.patterns, undefined, agentInterval);
  await hub.fleet.startServer(hub.yaml);
  await Promise.all(
    bolts
      .filter((b) => b !== hub)
      .map(async (b) => {
        b.yaml = await spannerYaml(b.fleet, 'spoke', b.id, b.patterns, hub.fleet, agentInterval);
        await b.fleet.startServer(b.yaml);
      }),
  );
  cliOk(hub.fleet, ['spanner', 'init']);
  for (const b of bolts) {
    if (b === hub) continue;
    const code = cliOk(hub.fleet, ['spanner', 'bolt', 'invite', '--ttl', '10m']).trim();
    cliOk(b.fleet, ['spanner', 'bolt', 'join', '--from', hub.fleet.restUrl, '--code', code]);
  }
  for (const b of bolts) {
    await waitFor(`${b.id} lists ${bolts.length} live bolts`, async () => {
      const r = await b.fleet.api<{ bolts: { status: string }[] }>('GET', '/api/v1/spanner/roster');
      return r.bolts.filter((x) => x.status === 'live').length === bolts.length;
    }, 60_000, 200);
  }
}

/**
 * Enroll envoy `hostname` at bolt `at` (a token minted there) with the code of `vigo agent
 * enroll` (enrollEnvoy, which the verb is thin over), in this process: 30 enrollments at
 * once would otherwise be 30 node start-ups on a loaded machine. The envoy's id.
 */
export async function enrollAt(envoys: Fleet, at: Fleet, hostname: string): Promise<string> {
  const { token } = await at.api<{ token: string }>('POST', '/api/v1/enroll/tokens', {});
  await enrollEnvoy({ server: at.restUrl, token, hostname, env: { VIGO_ROOT: envoys.envoyRoot(hostname) } });
  return envoyIdentity(envoys, hostname).envoy_id;
}

export function envoyIdentity(envoys: Fleet, hostname: string): { envoy_id: string; grpc_addr: string; server: string; bolt_id?: string } {
  return JSON.parse(readFileSync(join(envoys.envoyRoot(hostname), 'etc', 'vigo-envoy', 'identity.json'), 'utf8')) as { envoy_id: string; grpc_addr: string; server: string; bolt_id?: string };
}

export function envoyFile(envoys: Fleet, hostname: string, name: 'envoy.crt' | 'envoy.key' | 'ca.crt'): string {
  return readFileSync(join(envoys.envoyRoot(hostname), 'etc', 'vigo-envoy', name), 'utf8');
}

export async function envoysOf(f: Fleet): Promise<EnvoyJson[]> {
  return (await f.api<{ envoys: EnvoyJson[] }>('GET', '/api/v1/envoys')).envoys;
}

export async function runIdsOf(f: Fleet, hostname: string): Promise<Set<string>> {
  const r = await f.apiRaw<{ runs: RunJson[] }>('GET', `/api/v1/runs?envoy=${encodeURIComponent(hostname)}&limit=10000`);
  return new Set(r.status === 200 ? r.body.runs.map((x) => x.run_id) : []);
}
