// Publish mechanics on a real directory tree and database: invalid stacks change nothing;
// a crash between the `.live` swap and the version bump is caught at the next start.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src/server/db.js';
import { PolicyState } from '../../src/server/policy.js';
import { stageLive, installStaged, currentLiveTarget } from '../../src/server/publish/live.js';
import { isVigoError } from '../../src/platform/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'vigo-publish-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const data = join(dir, 'srv');
const stacks = join(data, 'stacks');
const live = join(data, '.live');

function write(content: string): void {
  mkdirSync(join(stacks, 'configcrates'), { recursive: true });
  writeFileSync(join(stacks, 'configcrates', 'motd.vgo'), `name: motd\nresources:\n  - type: file\n    path: /etc/motd\n    content: "${content}"\n`);
  writeFileSync(join(stacks, 'envoys.vgo'), '- match: "*"\n  configcrates: [motd]\n');
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
  installStaged(await stageLive(stacks, data), data);
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
