// Issue 8 item 4: the enrollment token is a one-time secret. An operator hands it to the
// envoy through a root-only file, stdin or VIGO_ENROLL_TOKEN — never argv, which every
// local user can read in /proc/<pid>/cmdline while `vigo agent enroll` runs. `--token` still
// works but warns. A token minted for one hostname enrolls no other (and a refused try does
// not use it up). No token appears in any server or agent log, nor in the server's files.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, bin, waitFor } from '../server/harness.js';

const fleet = new Fleet();
after(() => fleet.cleanup());

async function mint(hostname?: string): Promise<string> {
  const r = fleet.cli('vigocli.js', ['enroll', 'token', 'create', '--json', ...(hostname ? ['--hostname', hostname] : [])]);
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { token: string }).token;
}

const outputs: string[] = [];
function enroll(name: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin('vigo.js'), 'agent', 'enroll', '--server', fleet.restUrl, '--hostname', name, ...args], {
    env: { ...process.env, VIGO_ROOT: fleet.envoyRoot(name), ...opts.env },
    input: opts.input ?? '',
    encoding: 'utf8',
  });
  outputs.push(r.stdout, r.stderr);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function enrolledAs(name: string): string {
  return (JSON.parse(readFileSync(join(fleet.envoyRoot(name), 'etc', 'vigo-envoy', 'identity.json'), 'utf8')) as { hostname: string }).hostname;
}

/** What any local user sees of a running `vigo agent enroll` in the process list. */
async function cmdlineWhileRunning(args: string[], env: NodeJS.ProcessEnv, input: string): Promise<string> {
  const child = spawn(process.execPath, [bin('vigo.js'), 'agent', 'enroll', '--server', fleet.restUrl, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise((r) => child.on('exit', r));
  // between fork and exec the child still shows the parent's command line: wait for ours
  const seen = await waitFor('the enroll process in /proc', () => {
    const c = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return c.includes('agent enroll') && c;
  }, 20_000, 5);
  child.stdin.end(input);
  await exited;
  return seen;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

test('an enrollment token reaches the envoy by file, env or stdin, not argv; a bound token enrolls only its host; no log holds a token', async () => {
  await fleet.startServer();
  const tokens: string[] = [];

  // from a root-only file: enrolls, no warning
  const t1 = await mint();
  tokens.push(t1);
  const file = join(fleet.dir, 'web-file.token');
  writeFileSync(file, `${t1}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  let r = enroll('web-file', ['--token-file', file]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(enrolledAs('web-file'), 'web-file');

  // from VIGO_ENROLL_TOKEN
  const t2 = await mint();
  tokens.push(t2);
  r = enroll('web-env', [], { env: { VIGO_ENROLL_TOKEN: t2 } });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(enrolledAs('web-env'), 'web-env');

  // from stdin, explicitly and implicitly (stdin not a terminal, no other source)
  const t3 = await mint();
  tokens.push(t3);
  r = enroll('web-stdin', ['--token-file', '-'], { input: `${t3}\n` });
  assert.equal(r.status, 0, r.stderr);
  const t4 = await mint();
  tokens.push(t4);
  r = enroll('web-pipe', [], { input: t4 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(enrolledAs('web-pipe'), 'web-pipe');

  // two sources at once is refused before anything is sent
  r = enroll('web-two', ['--token-file', file], { env: { VIGO_ENROLL_TOKEN: t2 } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /more than one way/);

  // --token still works, with a warning naming the safe ways
  const t5 = await mint();
  tokens.push(t5);
  r = enroll('web-argv', ['--token', t5]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /warning: --token puts the enrollment token on the command line.*--token-file/);

  // The attack: a local user polling the process list. With --token the secret is there;
  // with --token-file - it is not.
  const t6 = await mint();
  tokens.push(t6);
  const leaky = await cmdlineWhileRunning(['--hostname', 'web-leak', '--token', t6], { VIGO_ROOT: fleet.envoyRoot('web-leak') }, '');
  assert.ok(leaky.includes(t6), 'with --token the token is in /proc/<pid>/cmdline');
  const t7 = await mint();
  tokens.push(t7);
  const safe = await cmdlineWhileRunning(['--hostname', 'web-safe', '--token-file', '-'], { VIGO_ROOT: fleet.envoyRoot('web-safe') }, t7);
  assert.ok(!safe.includes('vget_'), `the process list shows no token: ${safe}`);
  assert.equal(enrolledAs('web-safe'), 'web-safe');

  // A token minted for db-01 does not enroll web-evil, says so, and is not used up.
  const bound = await mint('db-01');
  tokens.push(bound);
  r = enroll('web-evil', ['--token-file', '-'], { input: bound });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /enrollment token is bound to another hostname than 'web-evil'/);
  assert.match(r.stderr, /--hostname/);
  assert.doesNotMatch(r.stderr, /db-01/, 'the refusal does not tell a token thief which hostname to claim');
  const envoys = await fleet.api<{ envoys: { hostname: string }[] }>('GET', '/api/v1/envoys');
  assert.ok(!envoys.envoys.some((e) => e.hostname === 'web-evil'));
  r = enroll('db-01', ['--token-file', '-'], { input: bound });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(enrolledAs('db-01'), 'db-01');
  assert.match(fleet.srv?.out() ?? '', /enrollment as web-evil from .* refused: enrollment token is bound to another hostname/);

  // Run one agent for a few check-ins so its log is part of the scan.
  const agent = fleet.startAgent('web-file');
  await waitFor('web-file checks in', () => agent.out().includes('checking in to'));
  await new Promise((res) => setTimeout(res, 1500));
  await fleet.stopProc(agent);
  outputs.push(agent.out());

  // No token in any log (server stderr/stdout, every enroll run, the agent), nor in any file
  // the server keeps (the database holds only SHA-256s).
  const logs = [fleet.srv?.out() ?? '', ...outputs].join('\n');
  const leakedOnPurpose = new Set([t5, t6]); // --token runs: their argv, not their output
  for (const t of tokens) {
    const secret = t.slice(0, t.indexOf('.'));
    assert.ok(!logs.includes(secret), `a log line holds token ${leakedOnPurpose.has(t) ? '(argv run)' : ''}`);
  }
  for (const f of filesUnder(fleet.dataDir)) {
    if (statSync(f).size > 64 * 1024 * 1024) continue;
    const body = readFileSync(f).toString('latin1');
    for (const t of tokens) assert.ok(!body.includes(t.slice(0, t.indexOf('.'))), `${f} holds a token in clear`);
  }
});
