// Issue 15's end-to-end: three hosts of the netns bed (a, b, c), each running a vigosrv
// bolt and a `vigo agent run` envoy enrolled at it (gitback and swarm enabled, port 1531 in
// each namespace), sharing the host's VIGO_ROOT as on one machine; a fourth host (d) runs
// only an envoy, no ops-puddle. The operator flow is the page's: spanner init on A, invite
// and join B and C; ops-puddle init on A, pair + join to B and C; stacks init on A, stacks
// join on B and C. Then: a publish on A brings every bolt to the new head and every envoy
// to the new policy; a bolt killed during a publish converges after restart; an invalid
// head is refused everywhere with .live untouched; the non-member envoy holds no stacks
// bytes. ONE bed for the file, removed in `after` whatever happened.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { NetnsBed, netnsUnavailable } from '../helpers/netns.js';
import { programBin } from '../helpers/program.js';
import { until } from './swarm-fleet.js';

const skip = netnsUnavailable();
const BOLTS = ['a', 'b', 'c'] as const;
const HOSTS = [...BOLTS, 'd'] as const;
const API = 8443;
const MOTD = (c: string): string => `name: motd\nresources:\n  - type: file\n    path: /tmp/vigo-stacks-motd-{{ .Envoy.hostname }}\n    content: "${c}"\n    mode: "0644"\n`;
const ENVOYS = 'envoys:\n  - match: "*"\n    configcrates: [motd]\n';

let bed: NetnsBed;
const dir = mkdtempSync(join(tmpdir(), 'vgt-spanner-stacks-'));
const srv = new Map<string, ChildProcess>();
const agents = new Map<string, ChildProcess>();

const root = (h: string): string => bed.host(h).vigoRoot;
const url = (h: string): string => `https://${bed.host(h).addr}:${API}`;
const dataDir = (h: string): string => join(root(h), 'srv/vigo');
const bare = (h: string, pid: string): string => join(root(h), 'var/lib/vigo/swarm/gitback/projects', `${pid}.git`);
const log = (f: string): string => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : '');
const logs = (): string => HOSTS.map((h) => `--- ${h} vigosrv ---\n${log(`srv-${h}.log`).slice(-3000)}\n--- ${h} agent ---\n${log(`agent-${h}.log`).slice(-3000)}`).join('\n');

async function cli(h: string, args: string[], input = ''): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return bed.exec(h, [process.execPath, programBin('vigocli.js'), ...args], { env: { ...process.env, VIGO_ROOT: root(h), HOME: join(root(h), 'admin-home') }, input, timeoutMs: 120_000 });
}
async function ok(h: string, args: string[], input = ''): Promise<string> {
  const r = await cli(h, args, input);
  if (r.code !== 0) throw new Error(`${h}: vigocli ${args.join(' ')} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function serverYaml(h: string): string {
  const a = bed.host('a').addr;
  return [
    'server:',
    `  api_listen: ":${API}"`,
    '  grpc_listen: ":1530"',
    `  hostname: bolt-${h}`,
    `  tls_sans: ["${bed.host(h).addr}"]`,
    'checkin:\n  interval: 1s',
    'database:\n  flush_interval_ms: 200',
    'swarm:\n  enabled: ["*"]\n  gitback:\n    enabled: ["*"]',
    'spanner:',
    `  mode: ${h === 'a' ? 'hub' : 'spoke'}`,
    '  spanner_id: acme-prod',
    `  bolt_id: bolt-${h}`,
    `  advertise: ${bed.host(h).addr}:${API}`,
    `  patterns: ["env-${h}*"]`,
    '  gossip_interval_s: 1',
    h === 'a' ? '' : `  hub_addr: ${a}:${API}`,
    '',
  ].join('\n');
}

async function startServer(h: string): Promise<void> {
  const file = join(dir, `server-${h}.yaml`);
  if (!existsSync(file)) writeFileSync(file, serverYaml(h));
  const fd = openSync(join(dir, `srv-${h}.log`), 'a');
  const before = log(`srv-${h}.log`).split('vigosrv ready').length;
  srv.set(h, bed.spawn(h, [process.execPath, programBin('vigosrv.js'), '--config', file], { env: { ...process.env, VIGO_ROOT: root(h) }, stdio: ['ignore', fd, fd] }));
  closeSync(fd);
  await until(`${h}: vigosrv ready`, () => {
    if (srv.get(h)?.exitCode !== null) throw new Error(`${h}: vigosrv exited:\n${log(`srv-${h}.log`)}`);
    return log(`srv-${h}.log`).split('vigosrv ready').length > before;
  }, logs, 60_000);
}

async function stopServer(h: string, signal: NodeJS.Signals): Promise<void> {
  const p = srv.get(h);
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill(signal);
  await gone;
}

async function enrollAndRun(envoyHost: string, at: string): Promise<void> {
  const tok = JSON.parse(await ok(at, ['enroll', 'token', 'create', '--json', '--hostname', `env-${envoyHost}`])) as { token: string };
  const r = await bed.exec(envoyHost, [process.execPath, programBin('vigo.js'), 'agent', 'enroll', '--server', url(at), '--token-file', '-', '--hostname', `env-${envoyHost}`], { input: `${tok.token}\n`, env: { ...process.env, VIGO_ROOT: root(envoyHost) } });
  if (r.code !== 0) throw new Error(`enroll env-${envoyHost} at ${at}:\n${r.stdout}\n${r.stderr}`);
  const cfg = join(root(envoyHost), 'etc/vigo-envoy/agent.yaml');
  const addr = bed.host(envoyHost).addr;
  writeFileSync(cfg, `checkin:\n  interval_s: 1\n  timeout_s: 5\ngitback:\n  sweep_interval_s: 0.5\nswarm:\n  announce_host: "${addr}"\n  announce_interface: "${addr}"\n  catchup_interval_s: 2\n`);
  const fd = openSync(join(dir, `agent-${envoyHost}.log`), 'a');
  agents.set(envoyHost, bed.spawn(envoyHost, [process.execPath, programBin('vigo.js'), 'agent', 'run', '--config', cfg], { env: { ...process.env, VIGO_ROOT: root(envoyHost) }, stdio: ['ignore', fd, fd] }));
  closeSync(fd);
}

interface Status {
  stacks: { project_id: string | null; commit: string | null; error: { commit: string; problem: string } | null } | null;
  bolts: { bolt_id: string; stacks: { commit: string | null; error: { commit: string; problem: string } | null } | null }[];
}
/** this host's own vigosrv: after `auth login --server <A>` a plain vigocli on B or C talks to A */
const SELF = ['--server', `https://127.0.0.1:${API}`];
const status = async (h: string): Promise<Status> => JSON.parse(await ok(h, [...SELF, 'spanner', 'status', '--json'])) as Status;
const head = (h: string, pid: string): string | null => {
  try {
    return execFileSync('git', ['--git-dir', bare(h, pid), 'rev-parse', '-q', '--verify', 'refs/heads/main'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
};
let pid = '';

before(async () => {
  if (skip) return;
  bed = new NetnsBed([...HOSTS]);
  for (const h of HOSTS) for (const d of ['var/lib/vigo', 'var/run/vigo', 'etc/vigo-envoy', 'admin-home']) mkdirSync(join(root(h), d), { recursive: true, mode: 0o755 });
  for (const h of BOLTS) {
    mkdirSync(join(dataDir(h), 'stacks', 'configcrates'), { recursive: true });
    writeFileSync(join(dataDir(h), 'stacks', 'configcrates', 'motd.vgo'), MOTD('zero'));
    writeFileSync(join(dataDir(h), 'stacks', 'envoys.vgo'), ENVOYS);
  }
  await Promise.all(BOLTS.map((h) => startServer(h)));
  // the spanner: init on A, invite + join B and C
  await ok('a', ['spanner', 'init']);
  for (const h of ['b', 'c']) {
    const f = join(root('a'), `${h}.invite`);
    await ok('a', ['spanner', 'bolt', 'invite', '--ttl', '10m', '--out', f]);
    await ok(h, ['spanner', 'bolt', 'join', '--from', url('a'), '--code', `@${f}`]);
  }
  for (const h of BOLTS) await until(`${h} lists 3 bolts`, async () => ((await status(h)).bolts ?? []).length === 3, logs, 60_000);
  // envoys: one at each bolt, and d (no vigosrv, no ops-puddle) at A
  for (const h of BOLTS) await ok(h, ['config', 'publish', '--bolt-only']);
  await Promise.all([...BOLTS.map((h) => enrollAndRun(h, h)), enrollAndRun('d', 'a')]);
  // the ops-puddle: init on A, pair + join B and C (admin login to A first)
  for (const h of BOLTS) await ok(h, ['secrets', 'unlock']);
  await ok('a', ['spanner', 'ops-puddle', 'init', 'acme-ops']);
  const la = JSON.parse(readFileSync(join(dataDir('a'), 'local-admin.json'), 'utf8')) as { token: string; ca_file: string };
  for (const h of ['b', 'c']) {
    const ca = join(root(h), 'a-ca.crt');
    writeFileSync(ca, readFileSync(la.ca_file));
    await ok(h, ['auth', 'login', '--server', url('a'), '--token', la.token, '--ca', ca]);
    const pair = JSON.parse(await ok('a', ['spanner', 'ops-puddle', 'pair', '--url', url('a'), '--json'])) as { code: string };
    await ok(h, ['spanner', 'ops-puddle', 'join', '--from', url('a'), '--code', '-'], `${pair.code}\n`);
  }
  // the stacks project: init on A (imports A's stacks), join on B and C
  await ok('a', ['spanner', 'stacks', 'init']);
  for (const h of ['b', 'c']) await ok(h, ['spanner', 'stacks', 'join']);
  pid = (await status('a')).stacks?.project_id ?? '';
  if (pid === '') pid = (await until('A finds the stacks project', async () => (await status('a')).stacks?.project_id, logs, 30_000)) ?? '';
}, { timeout: 600_000 });

after(() => {
  if (skip) return;
  bed?.destroy();
  if (process.env.VIGO_KEEP_FLEET_LOGS === undefined) rmSync(dir, { recursive: true, force: true });
});

test('A serves the imported stacks head; B and C receive the bytes from A (catch-up) and serve it too', { skip: skip ?? 'not built yet: a file:// push into the stacks project is not handed to swarm replication (issue 15 item 3, docs/spanner.md)', timeout: 300_000 }, async () => {
  const h0 = head('a', pid);
  assert.ok(h0, 'stacks init pushed a head into A');
  await until('A serves the head', async () => (await status('a')).stacks?.commit === h0, logs, 60_000);
  for (const h of ['b', 'c']) await until(`${h}: the stacks bytes arrive (catch-up from A) and ${h} serves them`, async () => head(h, pid) === h0 && (await status(h)).stacks?.commit === h0, logs, 120_000);
});

test('a publish on A reaches every bolt and every envoy of every bolt', { skip: skip ?? 'not built yet: a file:// push into the stacks project is not handed to swarm replication (issue 15 item 3, docs/spanner.md)', timeout: 300_000 }, async () => {
  writeFileSync(join(dataDir('a'), 'stacks', 'configcrates', 'motd.vgo'), MOTD('one'));
  const out = await ok('a', ['config', 'publish']);
  assert.match(out, /all 3 bolt\(s\) serve it/);
  // each bolt's envoys converge on the version that bolt now serves (not stale-policy)
  for (const h of BOLTS) {
    await until(`bolt-${h}'s envoys converge to the new policy`, async () => {
      const l = JSON.parse(await ok(h, [...SELF, 'envoys', 'list', '--json'])) as { envoys: { hostname: string; status: string }[] };
      return l.envoys.length > 0 && l.envoys.every((e) => e.status === 'converged');
    }, logs, 90_000);
  }
});

test('a bolt killed during a publish converges to the latest head after restart', { skip: skip ?? 'not built yet: a file:// push into the stacks project is not handed to swarm replication (issue 15 item 3, docs/spanner.md)', timeout: 300_000 }, async () => {
  await stopServer('c', 'SIGKILL');
  writeFileSync(join(dataDir('a'), 'stacks', 'configcrates', 'motd.vgo'), MOTD('two'));
  const r = await cli('a', ['config', 'publish']);
  assert.notEqual(r.code, 0, 'C is down: the publish names it');
  assert.match(r.stderr, /bolt-c \(unreachable/);
  await startServer('c');
  const h2 = head('a', pid);
  await until('C serves the newest head after its restart', async () => (await status('c')).stacks?.commit === h2, logs, 120_000);
});

test('an invalid head is refused on every bolt with .live untouched', { skip: skip ?? 'not built yet: a file:// push into the stacks project is not handed to swarm replication (issue 15 item 3, docs/spanner.md)', timeout: 300_000 }, async () => {
  const live = Object.fromEntries(BOLTS.map((h) => [h, readlinkSync(join(dataDir(h), '.live'))]));
  const work = mkdtempSync(join(dir, 'bad-'));
  execFileSync('git', ['clone', '-q', '-b', 'main', `file://${bare('a', pid)}`, work]);
  writeFileSync(join(work, 'configcrates', 'motd.vgo'), 'name: motd\nresources: [\n');
  execFileSync('git', ['-C', work, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', 'broken']);
  execFileSync('git', ['-C', work, 'push', '-q', 'origin', 'HEAD:refs/heads/main']);
  const bad = execFileSync('git', ['-C', work, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  for (const h of BOLTS) await until(`${h} refuses ${bad.slice(0, 12)}`, async () => (await status(h)).stacks?.error?.commit === bad, logs, 120_000);
  for (const h of BOLTS) assert.equal(readlinkSync(join(dataDir(h), '.live')), live[h], `${h}: .live untouched`);
});

test('the non-member envoy (no ops-puddle on its host) never holds the stacks bytes', { skip: skip ?? false, timeout: 120_000 }, async () => {
  assert.ok(head('a', pid) !== null);
  assert.equal(existsSync(bare('d', pid)), false, 'd has no stacks repo');
  assert.doesNotMatch(log('agent-d.log'), new RegExp(`applied.*${pid.slice(0, 12)}`));
});
