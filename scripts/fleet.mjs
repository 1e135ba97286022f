#!/usr/bin/env node
// `npm run fleet`: a real local fleet on embedded defaults — one vigosrv and three envoys
// (real processes, each with its own VIGO_ROOT under a temp dir, loopback only), a sample
// configcrate published, the envoys converging, then a summary of what happened and how
// to look around. Ctrl-C stops everything and removes the temp dir (--keep keeps it);
// --exit tears down right after the summary (CI, a quick look).
//
// Run as root, it also shows gitback on web-01: a real Unix user (created for the demo,
// removed on exit) gets gitback through a usercrate the envoy converges, founds a
// project and clones it with `git clone gitback://…`. Elsewhere it says why not.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { chmodSync, chownSync, mkdtempSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installProgram } from './install-program.mjs';

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
const gitbackUser = gitbackDemoUser();
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

/** null (and why) when this run cannot show gitback, else a fresh Unix user's name. */
function gitbackDemoUser() {
  if (process.platform !== 'linux') return { name: null, why: 'gitback needs Linux (SO_PEERCRED)' };
  if (process.getuid?.() !== 0) return { name: null, why: 'showing gitback needs root: it creates a Unix user for the demo (run `sudo npm run fleet`)' };
  if (spawnSync('useradd', ['--help'], { stdio: 'ignore' }).error) return { name: null, why: 'showing gitback needs useradd, which is not installed' };
  const name = `vigofleet${randomBytes(3).toString('hex')}`;
  const r = spawnSync('useradd', ['-m', '-s', '/bin/sh', name], { encoding: 'utf8' });
  if (r.status !== 0) return { name: null, why: `useradd ${name} failed: ${r.stderr.trim()}` };
  const id = (flag) => Number(spawnSync('id', [flag, name], { encoding: 'utf8' }).stdout.trim());
  const home = spawnSync('getent', ['passwd', name], { encoding: 'utf8' }).stdout.trim().split(':')[5];
  return { name, uid: id('-u'), gid: id('-g'), home, why: null };
}

/** Runs the installed program or git as the demo user, on web-01's envoy. */
function asUser(u, root, program, file, argv, opts = {}) {
  const r = spawnSync(file, argv, {
    cwd: opts.cwd ?? u.home,
    uid: u.uid,
    gid: u.gid,
    encoding: 'utf8',
    input: '',
    timeout: 60_000,
    env: {
      PATH: `${join(program, 'commands')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: u.home, USER: u.name, LOGNAME: u.name, LANG: 'C.UTF-8',
      VIGO_ROOT: root,
      VIGO_PUDDLE_PASSPHRASE: 'fleet demo passphrase (not for real use)',
      GIT_AUTHOR_NAME: u.name, GIT_AUTHOR_EMAIL: `${u.name}@fleet.example`, GIT_COMMITTER_NAME: u.name, GIT_COMMITTER_EMAIL: `${u.name}@fleet.example`,
    },
  });
  if (r.status !== 0 && opts.check !== false) throw new Error(`${[file, ...argv].join(' ')} (as ${u.name}) failed:\n${r.stdout}${r.stderr}${r.error ?? ''}`);
  return r;
}

let stopping = false;
async function teardown(code) {
  if (stopping) return;
  stopping = true;
  if (gitbackUser.name !== null) {
    if (gitbackUser.lock) gitbackUser.lock();
    spawnSync('userdel', ['-r', '-f', gitbackUser.name], { stdio: 'ignore' });
  }
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.on('exit', r)) : null)));
  if (keep) say(`kept ${base}`);
  else rmSync(base, { recursive: true, force: true });
  process.exit(code);
}
/**
 * gitback on web-01: the user's usercrate converged (policy file), a puddle, a project
 * founded from a work tree, and a clone through gitback:// — the user's own commands.
 */
function showGitback(u) {
  const root = join(base, 'envoys', 'web-01');
  const policy = join(root, 'var', 'lib', 'vigo', 'usercrate-policy', `${u.name}.json`);
  if (!existsSync(policy)) throw new Error(`web-01 did not write the usercrate policy ${policy}`);
  // the user reaches the socket and the program through world-traversable dirs only
  for (const d of [base, join(base, 'envoys'), root]) chmodSync(d, 0o755);
  const program = installProgram(join(base, 'program'));
  const run = (file, argv, opts) => asUser(u, root, program, file, argv, opts);
  const shown = (cmd, r) => {
    const out = (r.stdout + r.stderr).trimEnd();
    say(`${u.name}@web-01$ ${cmd}${out === '' ? '' : `\n${out.replace(/^/gm, '  ')}`}`);
  };
  say(`\n=== gitback on web-01, as the Unix user ${u.name} (created for this demo) ===`);
  say(`usercrate policy written by web-01's converge: ${policy}\n  ${readFileSync(policy, 'utf8').replace(/\s+/g, ' ').trim()}`);
  shown('vigo swarm puddle init', run('vigo', ['swarm', 'puddle', 'init']));
  shown('vigo swarm puddle unlock', run('vigo', ['swarm', 'puddle', 'unlock', '--watch-pid', '0']));
  u.lock = () => run('vigo', ['swarm', 'puddle', 'lock'], { check: false });
  const work = join(u.home, 'demo');
  mkdirSync(work);
  chownSync(work, u.uid, u.gid);
  run('git', ['init', '-q', '-b', 'main'], { cwd: work });
  writeFileSync(join(work, 'README'), 'a first gitback project\n');
  chownSync(join(work, 'README'), u.uid, u.gid);
  run('git', ['add', 'README'], { cwd: work });
  shown('git commit -m "first commit"', run('git', ['commit', '-qm', 'first commit'], { cwd: work }));
  const init = run('vigo', ['swarm', 'gitback', 'project', 'init', 'demo'], { cwd: work });
  shown('vigo swarm gitback project init demo', init);
  const url = /gitback:\/\/[0-9a-f]{64}\/demo/.exec(init.stdout)?.[0];
  if (url === undefined) throw new Error(`project init printed no gitback:// URL:\n${init.stdout}`);
  shown(`git clone ${url} demo-clone`, run('git', ['clone', '-q', url, 'demo-clone']));
  shown('git -C demo-clone log --oneline', run('git', ['-C', 'demo-clone', 'log', '--oneline']));
  step(`${u.name} founded gitback project demo on web-01 and cloned it through gitback://`);
  return { root, program, url };
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
  writeFileSync(yaml, `server:\n  hostname: fleet-demo\n  api_listen: 127.0.0.1:${rest}\n  grpc_listen: 127.0.0.1:${grpc}\ncheckin:\n  interval: ${INTERVAL_S}s\n` +
    // the envoy-level swarm gates: the swarm (gitback and the puddle verbs) on web-01 only
    'swarm:\n  enabled: ["web-01"]\n  gitback:\n    enabled: ["web-01"]\n  puddle:\n    enabled: ["web-01"]\n');
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
  // the gitback user's usercrate: puddle and gitback allowed for that user on web-01
  const web01 = gitbackUser.name === null ? '' : `  - match: "web-01"\n    configcrates: [motd]\n    usercrates: [${gitbackUser.name}]\n    vars:\n      team: web\n`;
  if (gitbackUser.name !== null) {
    mkdirSync(join(stacks, 'usercrates'), { recursive: true });
    writeFileSync(join(stacks, 'usercrates', `${gitbackUser.name}.vgo`), `name: ${gitbackUser.name}\nresources:\n  - type: user\n    name: ${gitbackUser.name}\n    puddle: true\n    gitback: true\n`);
  }
  writeFileSync(join(stacks, 'envoys.vgo'), `envoys:\n${web01}  - match: "web-*"\n    configcrates: [motd]\n    vars:\n      team: web\n  - match: "*"\n    configcrates: [motd]\n`);
  step(`wrote a sample configcrate to ${stacks}${gitbackUser.name === null ? '' : ` (and a usercrate for ${gitbackUser.name} on web-01)`}`);

  for (const name of ENVOYS) {
    const root = join(base, 'envoys', name);
    const { token } = JSON.parse(cli('vigocli.js', ['enroll', 'token', 'create', '--expires', '10m', '--json']));
    cli('vigo.js', ['agent', 'enroll', '--server', `https://127.0.0.1:${rest}`, '--token', token, '--hostname', name], root);
    step(`enrolled ${name} (one-time token, Ed25519 key, CA-signed client cert in ${join(root, 'etc', 'vigo-envoy')})`);
    // web-01's swarm peer server on a free loopback port, not the machine's 1531
    if (name === 'web-01') writeFileSync(join(root, 'etc', 'vigo-envoy', 'agent.yaml'), `swarm:\n  listen: "127.0.0.1:${await freePort()}"\n`);
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

  const gitbackShown = gitbackUser.name === null ? null : showGitback(gitbackUser);

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
  if (gitbackShown === null) say(`gitback was not shown: ${gitbackUser.why}.`);
  else {
    say(`=== gitback on web-01, as ${gitbackUser.name} (sudo -u ${gitbackUser.name} -i, then) ===
  export VIGO_ROOT=${gitbackShown.root} PATH=${join(gitbackShown.program, 'commands')}:$PATH
  vigo swarm gitback project list
  git clone ${gitbackShown.url} demo2
  (${gitbackUser.name} and its home are removed when the fleet stops)
`);
  }
  if (exitAfter) {
    say('--exit given: stopping the fleet.');
    await teardown(0);
  } else say('The fleet keeps running. Press Ctrl-C to stop every process and remove the temp dir (npm run fleet -- --keep keeps it).');
} catch (e) {
  console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
  await teardown(1);
}
