// `join --from` / `rekey --from` choose their target and read their code before any network:
// root and unknown users are refused, SUDO_USER is the default, and a code in argv is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCode, targetUser } from '../../src/cli/vigo/swarm/puddle/join.js';

const dir = mkdtempSync(join(tmpdir(), 'vigo-join-'));
const passwd = join(dir, 'passwd');
writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/sh\ndan:x:1000:1000::/home/dan:/bin/sh\n');
test.after(() => rmSync(dir, { recursive: true, force: true }));

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
  return 'ok';
};

test('the target: --user, else SUDO_USER; never root; must exist', () => {
  assert.equal(targetUser('dan', {}, passwd).dir, '/home/dan/.vigo-puddle');
  assert.equal(targetUser(undefined, { SUDO_USER: 'dan' }, passwd).uid, 1000);
  assert.equal(code(() => targetUser(undefined, {}, passwd)), 'E_USAGE');
  assert.equal(code(() => targetUser('root', {}, passwd)), 'E_USAGE');
  assert.equal(code(() => targetUser(undefined, { SUDO_USER: 'root' }, passwd)), 'E_USAGE');
  assert.equal(code(() => targetUser('mallory', {}, passwd)), 'E_PAIR_NO_USER');
});

test('the code: never from argv; @FILE is read and checked', async () => {
  await assert.rejects(readCode('8h3K_z2pYvR4qLwx'), (e: { code?: string }) => e.code === 'E_USAGE');
  const f = join(dir, 'code');
  writeFileSync(f, '8h3K_z2pYvR4qLwx\n', { mode: 0o600 });
  assert.equal(await readCode(`@${f}`), '8h3K_z2pYvR4qLwx');
  writeFileSync(f, 'not a code\n', { mode: 0o600 });
  await assert.rejects(readCode(`@${f}`), (e: { code?: string }) => e.code === 'E_USAGE');
});
