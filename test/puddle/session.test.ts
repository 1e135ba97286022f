// The operator's story with real processes: init, unlock, sign through the helper, lock;
// a wrong passphrase; the idle timeout; the watchdog parent; files and modes exactly.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { MAX_LINE_BYTES } from '../../src/puddle/session/protocol.js';
import { createPublicKey, verify } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isInitialized, isUnlocked, readPublicKey, readSessionUnlocked } from '../../src/puddle/identity.js';
import { sessionSigner } from '../../src/puddle/index.js';
import { PASS, VIGO, alive, cleanupHome, helperPid, ok, puddleEnvoyRoot, tempHome, vigo, waitFor, withPass } from './harness.js';

const homes: string[] = [];
const pids: number[] = [];
after(() => {
  for (const h of homes) cleanupHome(h, pids);
});

function home(): string {
  const h = tempHome();
  homes.push(h);
  return h;
}

/** A fresh HOME with an initialized puddle, unlocked with these options. */
function unlockedHome(unlockArgs: string[]): { h: string; dir: string; pid: number } {
  const h = home();
  ok(vigo(h, ['init'], withPass()));
  ok(vigo(h, ['unlock', ...unlockArgs], withPass()));
  const pid = helperPid(h);
  assert.ok(pid !== null, 'a helper is running');
  pids.push(pid);
  return { h, dir: join(h, '.vigo-puddle'), pid };
}

function mode(p: string): number {
  return lstatSync(p).mode & 0o777;
}

function verifyWithPubFile(pubFile: string, msg: Uint8Array, sig: Uint8Array): boolean {
  const hex = readFileSync(pubFile, 'utf8').trim();
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(hex, 'hex')]), format: 'der', type: 'spki' });
  return verify(null, msg, key, sig);
}

test('init writes the identity files with exactly the specified modes, and refuses a second init', () => {
  const h = home();
  const dir = join(h, '.vigo-puddle');
  const r = ok(vigo(h, ['init'], withPass()));
  assert.match(r.stdout, /Puddle initialized/);
  assert.equal(mode(dir), 0o700);
  assert.equal(mode(join(dir, 'identity.wrapped')), 0o600);
  assert.equal(mode(join(dir, 'identity.salt')), 0o600);
  assert.equal(mode(join(dir, 'identity.pub')), 0o644);
  const pub = readFileSync(join(dir, 'identity.pub'), 'utf8');
  assert.match(pub, /^[0-9a-f]{64}\n$/);
  assert.equal(readFileSync(join(dir, 'identity.salt')).length, 16);
  const wrapped = JSON.parse(readFileSync(join(dir, 'identity.wrapped'), 'utf8')) as { v: number; kdf: { alg: string; m_kib: number; t: number; p: number } };
  assert.equal(wrapped.v, 1);
  assert.equal(wrapped.kdf.alg, 'argon2id');
  assert.ok(wrapped.kdf.m_kib >= 19456 && wrapped.kdf.t >= 2 && wrapped.kdf.p >= 1, 'at least the OWASP minimum');
  assert.equal(ok(vigo(h, ['pubkey'])).stdout, `ed25519:${pub}`);
  assert.equal(isInitialized(dir), true);
  assert.deepEqual(Buffer.from(readPublicKey(dir)).toString('hex') + '\n', pub);

  const before = readFileSync(join(dir, 'identity.wrapped'));
  const again = vigo(h, ['init'], withPass('another passphrase'));
  assert.notEqual(again.status, 0);
  assert.match(again.stderr, /^error: a puddle identity already exists/m);
  assert.deepEqual(readFileSync(join(dir, 'identity.wrapped')), before, 'init never overwrites');
  assert.deepEqual(readdir(dir), ['identity.pub', 'identity.salt', 'identity.wrapped']);
});

function readdir(dir: string): string[] {
  return readdirSync(dir).sort();
}

test('status before init says so and how to fix it; verbs that need an identity fail clearly', () => {
  const h = home();
  const s = ok(vigo(h, ['status', '--json']));
  assert.equal((JSON.parse(s.stdout) as { initialized: boolean }).initialized, false);
  const u = vigo(h, ['unlock'], withPass());
  assert.notEqual(u.status, 0);
  assert.match(u.stderr, /error: no puddle identity in .*\nhint: run `vigo swarm puddle init` first/);
  const p = vigo(h, ['pubkey']);
  assert.notEqual(p.status, 0);
  assert.match(p.stderr, /hint: run `vigo swarm puddle init`/);
  assert.doesNotMatch(p.stderr, /\n\s+at /, 'no stack trace');
});

test('unlock, a signature through the helper that verifies with identity.pub, then lock', async () => {
  const h = home();
  const dir = join(h, '.vigo-puddle');
  ok(vigo(h, ['init', '--passphrase-file', writePassFile(h)]));
  const u = ok(vigo(h, ['unlock', '--idle-timeout', '10m'], withPass()));
  assert.match(u.stdout, /Puddle unlocked/);
  const pid = helperPid(h);
  assert.ok(pid !== null && alive(pid));
  pids.push(pid);
  assert.equal(mode(join(dir, 'session.sock')), 0o600);
  assert.ok(lstatSync(join(dir, 'session.sock')).isSocket());
  assert.equal(mode(join(dir, 'session.unlocked')), 0o600);
  assert.equal(isUnlocked(dir), true);
  const marker = readSessionUnlocked(dir);
  assert.equal(marker?.pid, pid);
  assert.equal(marker?.pubkey, readFileSync(join(dir, 'identity.pub'), 'utf8').trim());
  assert.equal(marker?.idle_timeout_s, 600);

  const st = JSON.parse(ok(vigo(h, ['status', '--json'])).stdout) as { unlocked: boolean; session: { idle_timeout_s: number; idle_left_s: number; pid: number } };
  assert.equal(st.unlocked, true);
  assert.equal(st.session.idle_timeout_s, 600);
  assert.ok(st.session.idle_left_s > 590 && st.session.idle_left_s <= 600);
  assert.equal(st.session.pid, pid);
  assert.match(ok(vigo(h, ['status'])).stdout, /Unlocked:    yes \(session pid \d+; locks after (9m( \d+s)?|10m) more idle, or when pid \d+ exits\)/);

  const signer = await sessionSigner(dir);
  const msg = new TextEncoder().encode('vigo test message');
  const sig = await signer.sign(msg);
  assert.equal(sig.length, 64);
  assert.ok(verifyWithPubFile(join(dir, 'identity.pub'), msg, sig), 'signature verifies with identity.pub');
  assert.ok(!verifyWithPubFile(join(dir, 'identity.pub'), new TextEncoder().encode('other'), sig));

  const again = ok(vigo(h, ['unlock'], withPass()));
  assert.match(again.stdout, /already unlocked/);

  const l = ok(vigo(h, ['lock']));
  assert.match(l.stdout, /Puddle locked/);
  await waitFor(() => !alive(pid), 5000, 'the helper to exit');
  assert.equal(existsSync(join(dir, 'session.unlocked')), false);
  assert.equal(existsSync(join(dir, 'session.sock')), false);
  assert.equal(isUnlocked(dir), false);
  assert.equal(readSessionUnlocked(dir), null);
  await assert.rejects(signer.sign(msg), (e: Error & { code?: string }) => e.code === 'E_PUDDLE_LOCKED');
  await assert.rejects(sessionSigner(dir), (e: Error & { code?: string; hint?: string }) => e.code === 'E_PUDDLE_LOCKED' && /unlock/.test(e.hint ?? ''));
  assert.match(ok(vigo(h, ['lock'])).stdout, /not unlocked/);
});

function writePassFile(h: string): string {
  const f = join(h, 'pass.txt');
  writeFileSync(f, PASS + '\n', { mode: 0o600 });
  return f;
}

test('a wrong passphrase is a clear error and changes nothing', () => {
  const h = home();
  const dir = join(h, '.vigo-puddle');
  ok(vigo(h, ['init'], { env: {}, input: PASS + '\n' }));
  const snapshot = () => readdir(dir).map((f) => [f, readFileSync(join(dir, f)).toString('hex')]);
  const before = snapshot();
  const r = vigo(h, ['unlock'], withPass('not the passphrase'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^error: wrong passphrase: it does not open .*identity\.wrapped\nhint: /);
  assert.deepEqual(snapshot(), before);
  const rot = vigo(h, ['rotate-passphrase'], { env: { VIGO_PUDDLE_PASSPHRASE: 'not the passphrase', VIGO_PUDDLE_NEW_PASSPHRASE: 'a new passphrase' } });
  assert.equal(rot.status, 1);
  assert.match(rot.stderr, /wrong passphrase/);
  const rk = vigo(h, ['rekey-pair'], withPass('not the passphrase'));
  assert.equal(rk.status, 1);
  assert.deepEqual(snapshot(), before);
});

test('the helper locks itself after the idle timeout', async () => {
  const { dir, pid } = unlockedHome(['--idle-timeout', '2s', '--watch-pid', '0']);
  assert.equal(isUnlocked(dir), true);
  await waitFor(() => !existsSync(join(dir, 'session.unlocked')), 10_000, 'the idle lock');
  await waitFor(() => !alive(pid), 5000, 'the helper to exit');
  assert.equal(existsSync(join(dir, 'session.sock')), false);
  assert.match(readFileSync(join(dir, 'session.log'), 'utf8'), /locked: idle for 2s/);
});

test('the helper locks when its watchdog parent (the shell that ran unlock) exits', async () => {
  const h = home();
  const dir = join(h, '.vigo-puddle');
  ok(vigo(h, ['init'], withPass()));
  // a shell runs `unlock` and then lingers, as a login shell would
  const shell = spawn('/bin/sh', ['-c', `"${process.execPath}" "${VIGO}" swarm puddle unlock && exec sleep 300`], {
    env: { PATH: process.env.PATH, HOME: h, VIGO_PUDDLE_PASSPHRASE: PASS, VIGO_ROOT: puddleEnvoyRoot() },
    stdio: 'ignore',
  });
  pids.push(shell.pid as number);
  await waitFor(() => existsSync(join(dir, 'session.unlocked')), 15_000, 'unlock');
  const pid = helperPid(h);
  assert.ok(pid !== null);
  pids.push(pid);
  const st = JSON.parse(ok(vigo(h, ['status', '--json'])).stdout) as { session: { watch_pid: number } };
  assert.equal(st.session.watch_pid, shell.pid, 'the watched parent is the shell');
  shell.kill('SIGKILL');
  await waitFor(() => !alive(pid), 10_000, 'the watchdog lock');
  assert.equal(existsSync(join(dir, 'session.unlocked')), false);
  assert.match(readFileSync(join(dir, 'session.log'), 'utf8'), new RegExp(`locked: watchdog: parent pid ${shell.pid} exited`));
});

test('--watch-pid names another process to watch', async () => {
  const h = home();
  const dir = join(h, '.vigo-puddle');
  ok(vigo(h, ['init'], withPass()));
  const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
  pids.push(sleeper.pid as number);
  ok(vigo(h, ['unlock', '--watch-pid', String(sleeper.pid)], withPass()));
  const pid = helperPid(h);
  assert.ok(pid !== null);
  pids.push(pid);
  assert.equal(isUnlocked(dir), true);
  sleeper.kill('SIGKILL');
  await waitFor(() => !alive(pid), 10_000, 'the watchdog lock');
  assert.equal(existsSync(join(dir, 'session.sock')), false);
});

test('a helper killed with SIGKILL leaves stale files that count as locked and are cleaned up', async () => {
  const { h, dir, pid } = unlockedHome(['--watch-pid', '0']);
  process.kill(pid, 'SIGKILL');
  await waitFor(() => !alive(pid), 5000, 'the helper to die');
  assert.ok(existsSync(join(dir, 'session.unlocked')), 'left behind by the kill');
  assert.equal(isUnlocked(dir), false, 'present but nobody answers: locked');
  await assert.rejects(sessionSigner(dir), (e: Error & { code?: string }) => e.code === 'E_PUDDLE_LOCKED');
  const st = JSON.parse(ok(vigo(h, ['status', '--json'])).stdout) as { unlocked: boolean };
  assert.equal(st.unlocked, false);
  assert.equal(existsSync(join(dir, 'session.unlocked')), false, 'status removed the stale files');
  assert.equal(existsSync(join(dir, 'session.sock')), false);
  ok(vigo(h, ['unlock', '--watch-pid', '0'], withPass()));
  const pid2 = helperPid(h);
  assert.ok(pid2 !== null && pid2 !== pid);
  pids.push(pid2);
  assert.equal(isUnlocked(dir), true);
  ok(vigo(h, ['lock']));
});

test('garbage, oversized requests and peers that hang up do not bring the helper down', async () => {
  const { h, dir, pid } = unlockedHome(['--watch-pid', '0']);
  const sock = join(dir, 'session.sock');
  // sends raw bytes, resolves with the first answer line (or whatever came before close)
  const raw = (data: string | Buffer) =>
    new Promise<string>((resolve) => {
      const c = connect(sock);
      let out = '';
      const done = () => {
        clearTimeout(t);
        c.destroy();
        resolve(out);
      };
      const t = setTimeout(done, 15_000);
      c.on('data', (d) => {
        out += d.toString();
        if (out.includes('\n')) done();
      });
      c.on('close', done);
      c.on('error', done);
      c.on('connect', () => c.write(data));
    });
  for (let i = 0; i < 20; i++) connect(sock).on('connect', function (this: import('node:net').Socket) { this.destroy(); }).on('error', () => undefined);
  assert.match(await raw('not json\n'), /"code":"E_BAD_REQUEST"/);
  assert.match(await raw('{"op":"SIGN","msg":"aGk=","uid":0}\n'), /"code":"E_BAD_REQUEST"/, 'no field may claim an identity');
  assert.match(await raw(Buffer.alloc(MAX_LINE_BYTES + 1024, 0x61)), /"code":"E_OVERSIZE"/);
  assert.ok(alive(pid));
  const msg = new TextEncoder().encode('still here');
  const sig = await (await sessionSigner(dir)).sign(msg);
  assert.ok(verifyWithPubFile(join(dir, 'identity.pub'), msg, sig));
  ok(vigo(h, ['lock']));
});
