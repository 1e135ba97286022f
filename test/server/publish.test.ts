// Publish mechanics on a real directory tree and database: invalid stacks change nothing;
// a crash between the `.live` swap and the version bump is caught at the next start.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src/server/db.js';
import { PolicyState } from '../../src/server/policy.js';
import { stageLive, installStaged, currentLiveTarget, copyListed } from '../../src/server/publish/live.js';
import { isVigoError } from '../../src/platform/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'vigo-publish-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const data = join(dir, 'srv');
const stacks = join(data, 'stacks');
const live = join(data, '.live');

function write(content: string): void {
  mkdirSync(join(stacks, 'configcrates'), { recursive: true });
  writeFileSync(join(stacks, 'configcrates', 'motd.vgo'), `name: motd\nresources:\n  - type: file\n    path: /etc/motd\n    content: "${content}"\n`);
  writeFileSync(join(stacks, 'envoys.vgo'), 'envoys:\n  - match: "*"\n    configcrates: [motd]\n');
}

test('publish, refuse invalid stacks untouched, and recover a swap that was never counted', async () => {
  const db = openDb(join(data, 'db', 'vigo.db'));
  const p = new PolicyState(db, data, live, stacks);
  p.boot();
  assert.equal(p.version, 0);
  write('one');
  assert.deepEqual(await p.publish(), { version: 1, files: 2 });
  assert.match(p.bundleJson('web-01', 0), /"content":"one"/);

  writeFileSync(join(stacks, 'configcrates', 'motd.vgo'), 'name: motd\nresources: [\n');
  const target = currentLiveTarget(data);
  await assert.rejects(p.publish(), (e: unknown) => isVigoError(e) && e.code === 'E_STACKS_INVALID' && e.message.includes(join(stacks, 'configcrates', 'motd.vgo')));
  assert.equal(currentLiveTarget(data), target);
  assert.equal(p.version, 1);
  assert.equal(readdirSync(join(data, '.live.d')).length, 1);

  // the process dies right after the swap: .live is new, the version is not bumped yet
  write('two');
  installStaged(stageLive(stacks, data), data);
  symlinkSync('.live.d/none', join(data, '.live.tmp-left-over'));
  const again = new PolicyState(db, data, live, stacks);
  again.boot();
  assert.equal(again.version, 2, 'the version rises because .live changed');
  assert.match(again.bundleJson('web-01', 0), /"content":"two"/);
  assert.deepEqual(readdirSync(data).filter((n) => n.startsWith('.live.tmp')), []);
  assert.equal(readdirSync(join(data, '.live.d')).length, 2, 'the live version and the previous one (the boot fallback)');
  assert.match(readFileSync(join(live, 'configcrates', 'motd.vgo'), 'utf8'), /two/);

  // an unchanged .live at the next start does not bump it
  const third = new PolicyState(db, data, live, stacks);
  third.boot();
  assert.equal(third.version, 2);
  db.close();
});

test('a file or directory swapped for a symlink after the listing is not followed by the copy', () => {
  const root = join(dir, 'race');
  const outside = join(dir, 'outside');
  mkdirSync(join(root, 'configcrates'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'secret.vgo'), 'name: secret\n');
  writeFileSync(join(root, 'configcrates', 'a.vgo'), 'name: a\n');
  const out = join(dir, 'race-copy');
  mkdirSync(join(out, 'configcrates'), { recursive: true });
  const real = realpathSync(root);

  // the leaf became a link to a file outside: refused (O_NOFOLLOW), nothing written
  rmSync(join(root, 'configcrates', 'a.vgo'));
  symlinkSync(join(outside, 'secret.vgo'), join(root, 'configcrates', 'a.vgo'));
  const leaf = copyListed(real, root, 'configcrates/a.vgo', join(out, 'configcrates', 'a.vgo'));
  assert.match(leaf?.message ?? '', /is a symbolic link/);
  assert.equal(existsSync(join(out, 'configcrates', 'a.vgo')), false);

  // the directory became a link to a directory outside: the opened path gives it away
  renameSync(join(root, 'configcrates'), join(dir, 'moved-away'));
  writeFileSync(join(outside, 'a.vgo'), 'name: a\n');
  symlinkSync(outside, join(root, 'configcrates'));
  const parent = copyListed(real, root, 'configcrates/a.vgo', join(out, 'configcrates', 'a.vgo'));
  assert.match(parent?.message ?? '', /changed while it was copied: it now resolves to .*outside\/a\.vgo/);
  assert.equal(existsSync(join(out, 'configcrates', 'a.vgo')), false);
});
