#!/usr/bin/env node
// `npm run fleet`: a real local fleet on embedded defaults — one vigosrv and three envoys
// (real processes, each with its own VIGO_ROOT under a temp dir, loopback only), a sample
// configcrate published, the envoys converging, then a summary of what happened and how
// to look around. Ctrl-C stops everything and removes the temp dir (--keep keeps it);
// --exit tears down right after the summary (CI, a quick look).
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const exitAfter = args.has('--exit');
const keep = args.has('--keep');
const INTERVAL_S = 5;
const ENVOYS = ['web-01', 'web-02', 'db-01'];

if (!existsSync(join(repo, 'dist', 'src', 'cli', 'vigosrv', 'main.js'))) {
  console.error('error: dist/ is missing\nhint: run `npm run build` (npm run fleet does it for you)');
  process.exit(1);
}

const base = mkdtempSync(join(tmpdir(), 'vigo-fleet-'));
const srvRoot = join(base, 'server');
const logs = join(base, 'logs');
mkdirSync(logs, { recursive: true });
const children = [];
const t0 = Date.now();
const say = (s) => process.stdout.write(`${s}\n`);
const step = (s) => say(`[${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${s}`);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function start(name, binName, argv, root) {
  const log = openSync(join(logs, `${name}.log`), 'a');
  const child = spawn(process.execPath, [join(repo, 'bin', binName), ...argv], { env: { ...process.env, VIGO_ROOT: root }, stdio: ['ignore', log, log] });
  children.push(child);
  return child;
}

function cli(binName, argv, root = srvRoot) {
  const r = spawnSync(process.execPath, [join(repo, 'bin', binName), ...argv], { env: { ...process.env, VIGO_ROOT: root }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${binName} ${argv.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

async function waitFor(what, fn, timeoutMs = 30_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {
      /* not yet */
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (logs in ${logs})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let stopping = false;
async function teardown(code) {
  if (stopping) return;
  stopping = true;
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.on('exit', r)) : null)));
  if (keep) say(`kept ${base}`);
  else rmSync(base, { recursive: true, force: true });
  process.exit(code);
}
process.on('SIGINT', () => {
  say('\nstopping the fleet…');
  void teardown(0);
});
process.on('SIGTERM', () => void teardown(0));

try {
  const rest = await freePort();
  const grpc = await freePort();
  const yaml = join(base, 'server.yaml');
  writeFileSync(yaml, `server:\n  hostname: fleet-demo\n  rest_listen: 127.0.0.1:${rest}\n  grpc_listen: 127.0.0.1:${grpc}\ncheckin:\n  interval_s: ${INTERVAL_S}\n`);
  step(`starting vigosrv (VIGO_ROOT=${srvRoot})`);
  const srv = start('vigosrv', 'vigosrv.js', ['--config', yaml], srvRoot);
  srv.on('exit', (c) => {
    if (!stopping) {
      console.error(`vigosrv exited (${c}); see ${join(logs, 'vigosrv.log')}`);
      void teardown(1);
    }
  });
  await waitFor('vigosrv', () => readFileSync(join(logs, 'vigosrv.log'), 'utf8').includes('vigosrv ready'));
  step(`vigosrv is up: REST https://127.0.0.1:${rest}, check-in gRPC 127.0.0.1:${grpc} (mTLS)`);

  const stacks = join(srvRoot, 'srv', 'vigo', 'stacks');
  mkdirSync(join(stacks, 'configcrates'), { recursive: true });
  writeFileSync(
    join(stacks, 'configcrates', 'motd.vgo'),
    `name: motd\nvars:\n  greeting: hello\n  team: ops\nresources:\n  - type: file\n    path: /etc/motd\n    content: "{{ .Vars.greeting }} from {{ .Envoy.hostname }}, managed by vigo for {{ .Vars.team }}\\n"\n    mode: "0644"\n  - type: directory\n    path: /opt/app\n    mode: "0755"\n  - type: symlink\n    path: /opt/current\n    target: /opt/app\n`,
  );
  writeFileSync(join(stacks, 'envoys.vgo'), `- match: "web-*"\n  configcrates: [motd]\n  vars:\n    team: web\n- match: "*"\n  configcrates: [motd]\n`);
  step(`wrote a sample configcrate to ${stacks}`);

  for (const name of ENVOYS) {
    const root = join(base, 'envoys', name);
    const { token } = JSON.parse(cli('vigocli.js', ['enroll', 'token', 'create', '--expires', '10m', '--json']));
    cli('vigo.js', ['agent', 'enroll', '--server', `https://127.0.0.1:${rest}`, '--token', token, '--hostname', name], root);
    step(`enrolled ${name} (one-time token, Ed25519 key, CA-signed client cert in ${join(root, 'etc', 'vigo-envoy')})`);
    start(name, 'vigo.js', ['agent', 'run'], root);
  }
  await waitFor('envoys to connect', () => JSON.parse(cli('vigocli.js', ['envoys', 'list', '--json'])).envoys.every((e) => e.connected));
  step('three envoy agents are running and hold their check-in streams');

  const pub = JSON.parse(cli('vigocli.js', ['config', 'publish', '--json']));
  step(`published the stacks as config version ${pub.version}; the server told ${pub.pushed} envoys to check in now`);
  await waitFor('convergence', () => JSON.parse(cli('vigocli.js', ['envoys', 'list', '--json'])).envoys.every((e) => e.policy_version === pub.version && e.status === 'converged'));
  step('every envoy converged and reported its run');

  // show drift being put back: first a clean run, so one drift is one changed run
  cli('vigocli.js', ['envoys', 'push', 'web-01']);
  await waitFor('a clean run on web-01', () => JSON.parse(cli('vigocli.js', ['envoys', 'show', 'web-01', '--json'])).envoy.last_run_status === 'ok');
  const motd = join(base, 'envoys', 'web-01', 'etc', 'motd');
  writeFileSync(motd, 'someone edited this by hand\n');
  step(`edited ${motd} by hand; pushing a check-in to web-01…`);
  cli('vigocli.js', ['envoys', 'push', 'web-01']);
  await waitFor('the edit to be put back', () => readFileSync(motd, 'utf8').includes('managed by vigo'));
  step('web-01 put the file back on its next run');

  say('\n=== envoys (vigocli envoys list) ===');
  say(cli('vigocli.js', ['envoys', 'list']).trimEnd());
  say('\n=== recent runs (vigocli runs list --limit 6) ===');
  say(cli('vigocli.js', ['runs', 'list', '--limit', '6']).trimEnd());
  say('\n=== what the envoys wrote ===');
  for (const name of ENVOYS) say(`${join(base, 'envoys', name, 'etc', 'motd')}: ${readFileSync(join(base, 'envoys', name, 'etc', 'motd'), 'utf8').trimEnd()}`);
  say('\n=== server (vigocli server status) ===');
  say(cli('vigocli.js', ['server', 'status']).trimEnd());

  const v = (b) => `node ${join(repo, 'bin', b)}`;
  say(`
=== look around (in another terminal) ===
  export VIGO_ROOT=${srvRoot}          # vigocli then uses the server's local-admin token
  ${v('vigocli.js')} envoys list
  ${v('vigocli.js')} envoys show web-01
  ${v('vigocli.js')} runs list --envoy db-01
  echo drift > ${join(base, 'envoys', 'db-01', 'etc', 'motd')}   # put back within ${INTERVAL_S}s
  $EDITOR ${join(stacks, 'configcrates', 'motd.vgo')} && ${v('vigocli.js')} config publish
  logs: ${logs}/{vigosrv,${ENVOYS.join(',')}}.log
`);
  if (exitAfter) {
    say('--exit given: stopping the fleet.');
    await teardown(0);
  } else say('The fleet keeps running. Press Ctrl-C to stop every process and remove the temp dir (npm run fleet -- --keep keeps it).');
} catch (e) {
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
  await teardown(1);
}
