// The journal in isolation: a committed change that was interrupted is finished by
// recovery; an uncommitted one is dropped; exact modes regardless of umask.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commitChange, journalPending, recoverJournal, writeExact } from '../../src/puddle/journal.js';

const root = mkdtempSync(join(tmpdir(), 'vgt-journal-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = () => {
  const d = join(root, `d${n++}`);
  mkdirSync(d, { mode: 0o700 });
  return d;
};

test('commitChange puts every file with its exact mode, also in subdirectories, and removes', () => {
  const d = fresh();
  writeFileSync(join(d, 'gone'), 'x');
  const old = process.umask(0o077);
  try {
    commitChange(d, { op: 't', put: [{ path: 'a.pub', data: 'A\n', mode: 0o644 }, { path: 'sub/b', data: new Uint8Array([1, 2]), mode: 0o600 }], remove: ['gone'] }, {});
  } finally {
    process.umask(old);
  }
  assert.equal(readFileSync(join(d, 'a.pub'), 'utf8'), 'A\n');
  assert.equal(lstatSync(join(d, 'a.pub')).mode & 0o777, 0o644, 'umask does not apply');
  assert.equal(lstatSync(join(d, 'sub')).mode & 0o777, 0o700);
  assert.deepEqual([...readFileSync(join(d, 'sub/b'))], [1, 2]);
  assert.equal(existsSync(join(d, 'gone')), false);
  assert.equal(journalPending(d), false);
  assert.throws(() => commitChange(d, { op: 't', put: [{ path: '../escape', data: '', mode: 0o600 }] }, {}), /escapes/);
});

test('recovery finishes a committed journal, half applied, and drops uncommitted staging', () => {
  const d = fresh();
  writeFileSync(join(d, 'one'), 'old1');
  writeFileSync(join(d, 'two'), 'old2');
  // a committed journal whose first file was already moved into place before a crash
  mkdirSync(join(d, '.txn'));
  writeExact(join(d, '.txn', 'f1'), 'new2', 0o600);
  writeFileSync(join(d, '.txn', 'manifest.json'), JSON.stringify({ v: 1, op: 't', put: [{ src: 'f0', dst: 'one', mode: 0o600 }, { src: 'f1', dst: 'two', mode: 0o600 }], remove: [] }));
  writeFileSync(join(d, 'one'), 'new1');
  // and an uncommitted one from another crash
  mkdirSync(join(d, '.txn-staging-abc'));
  writeFileSync(join(d, '.txn-staging-abc', 'f0'), 'never');
  assert.equal(journalPending(d), true);
  recoverJournal(d, {});
  assert.equal(readFileSync(join(d, 'one'), 'utf8'), 'new1');
  assert.equal(readFileSync(join(d, 'two'), 'utf8'), 'new2');
  assert.deepEqual(readdirSync(d).sort(), ['one', 'two']);
  // a staging dir that never got committed changes nothing
  mkdirSync(join(d, '.txn-staging-def'));
  writeFileSync(join(d, '.txn-staging-def', 'manifest.json'), JSON.stringify({ v: 1, op: 't', put: [{ src: 'f0', dst: 'one', mode: 0o600 }], remove: [] }));
  writeFileSync(join(d, '.txn-staging-def', 'f0'), 'uncommitted');
  recoverJournal(d, {});
  assert.equal(readFileSync(join(d, 'one'), 'utf8'), 'new1');
});
