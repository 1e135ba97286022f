// On a terminal (a real pty via util-linux `script`): init asks twice without echo, a
// mismatch changes nothing, unlock asks once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { VIGO, cleanupHome, ok, puddleEnvoyRoot, tempHome, vigo } from './harness.js';

const noScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0 ? false : 'util-linux `script` is not installed (needed for a pty)';
const homes: string[] = [];
after(() => {
  for (const h of homes) cleanupHome(h);
});

/** Runs `vigo swarm puddle <args>` on a pty, typing each answer after each passphrase prompt. */
function onTty(home: string, args: string[], answers: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const cmd = [process.execPath, VIGO, 'swarm', 'puddle', ...args].map((a) => `'${a}'`).join(' ');
    const c = spawn('script', ['-qfec', cmd, '/dev/null'], { env: { PATH: process.env.PATH, HOME: home, TERM: 'dumb', VIGO_ROOT: puddleEnvoyRoot() } });
    let out = '';
    let answered = 0;
    const t = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`no exit; output so far: ${JSON.stringify(out)}`));
    }, 30_000);
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const prompts = out.match(/passphrase[^:\n]*: /g)?.length ?? 0;
      if (prompts > answered && answered < answers.length) c.stdin.write(`${answers[answered++]}\r`);
    });
    c.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

test('init on a terminal asks twice and never echoes; unlock asks once', { skip: noScript }, async () => {
  const h = tempHome();
  homes.push(h);
  const r = await onTty(h, ['init'], ['typed on a tty', 'typed on a tty']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /New puddle passphrase: \r?\nNew puddle passphrase \(again\): \r?\nPuddle initialized/);
  assert.doesNotMatch(r.out, /typed on a tty/, 'no echo');
  const u = await onTty(h, ['unlock', '--watch-pid', '0'], ['typed on a tty']);
  assert.equal(u.code, 0, u.out);
  assert.match(u.out, /Puddle passphrase: \r?\nPuddle unlocked/);
  assert.doesNotMatch(u.out, /typed on a tty/);
  ok(vigo(h, ['lock']));
});

test('two different passphrases on a terminal: a clear error, no identity', { skip: noScript }, async () => {
  const h = tempHome();
  homes.push(h);
  const r = await onTty(h, ['init'], ['first passphrase', 'second passphrase']);
  assert.equal(r.code, 1);
  assert.match(r.out, /error: the two passphrases differ; nothing was changed/);
  assert.equal(existsSync(join(h, '.vigo-puddle', 'identity.wrapped')), false);
});
