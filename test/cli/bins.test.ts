// The installed bins answer --help with their command trees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { programBin } from '../helpers/program.js';

function run(bin: string, args: string[]) {
  return spawnSync(process.execPath, [programBin(bin), ...args], { encoding: 'utf8' });
}

for (const [bin, word] of [
  ['vigo.js', 'vigo'],
  ['vigocli.js', 'vigocli'],
  ['vigosrv.js', 'vigosrv'],
] as const) {
  test(`${bin} --help prints its usage and exits 0`, () => {
    const r = run(bin, ['--help']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Usage: ${word}`));
  });
}

test('an unknown verb exits non-zero with a message', () => {
  const r = run('vigo.js', ['no-such-verb']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown command/);
});
