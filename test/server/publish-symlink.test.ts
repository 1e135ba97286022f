// An operator's stacks hold a symlink, and later `.live/` itself goes bad on disk. The
// server must refuse the link by name in validate and in publish alike, never install a
// tree it did not validate, and come back up whatever `.live/` holds.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet } from './harness.js';

const fleet = new Fleet();
after(() => fleet.cleanup());

const motd = (content: string) => `name: motd\nresources:\n  - type: file\n    path: /etc/motd\n    content: "${content}"\n`;
const envoys = 'envoys:\n  - match: "*"\n    configcrates: [motd]\n';
const crateFile = () => join(fleet.stacksDir, 'configcrates', 'motd.vgo');
const liveMotd = () => readFileSync(join(fleet.dataDir, '.live', 'configcrates', 'motd.vgo'), 'utf8');
const liveTarget = () => readlinkSync(join(fleet.dataDir, '.live'));
const version = () => fleet.api<{ version: number; loaded: boolean; live_error: string | null }>('GET', '/api/v1/config/version');

async function restart(): Promise<void> {
  await fleet.stopServer();
  await fleet.startServer();
}

test('a symlink in stacks is refused by validate and publish, and the server still restarts', { timeout: 300_000 }, async () => {
  await fleet.startServer();
  fleet.writeStacks({ motd: motd('one') }, envoys);
  assert.equal((await fleet.api<{ version: number }>('POST', '/api/v1/config/publish')).version, 1);
  const good = liveTarget();

  // the operator links the crate to a file kept elsewhere
  const outside = join(fleet.dir, 'elsewhere');
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, 'motd.vgo'), motd('from outside stacks'));
  rmSync(crateFile());
  symlinkSync(join(outside, 'motd.vgo'), crateFile());

  const v = fleet.cli('vigocli.js', ['config', 'validate']);
  assert.equal(v.status, 1, `validate must refuse the symlink:\n${v.stdout}${v.stderr}`);
  assert.match(v.stderr, /configcrates\/motd\.vgo:\?: is a symbolic link: vigo does not follow symlinks in stacks/);

  const p = await fleet.apiRaw<{ message: string; problems: { file: string; message: string }[] }>('POST', '/api/v1/config/publish');
  assert.equal(p.status, 422);
  assert.ok(p.body.problems.some((x) => x.file === crateFile() && /symbolic link/.test(x.message)), JSON.stringify(p.body));
  assert.equal(liveTarget(), good, '.live still names the last valid version');
  assert.match(liveMotd(), /one/);
  assert.deepEqual(readdirSync(join(fleet.dataDir, '.live.d')).filter((n) => n.startsWith('.')), [], 'the refused copy is gone');

  await restart();
  assert.deepEqual(await version(), { version: 1, loaded: true, live_error: null });
  assert.equal(liveTarget(), good);

  // with the file itself in place the publish goes through
  rmSync(crateFile());
  writeFileSync(crateFile(), motd('two'));
  assert.equal((await fleet.api<{ version: number }>('POST', '/api/v1/config/publish')).version, 2);
  assert.match(liveMotd(), /two/);
});

test('a .live that no longer loads falls back to the previous version; with none, the server starts and says so', { timeout: 300_000 }, async () => {
  // the live copy is damaged on disk (a restore gone wrong, a hand edit)
  const current = liveTarget();
  writeFileSync(join(fleet.dataDir, current, 'configcrates', 'motd.vgo'), 'name: motd\nresources: [\n');
  await restart();
  const v = await version();
  assert.equal(v.loaded, true);
  assert.match(v.live_error ?? '', /did not load, so the previous version .* serves instead/);
  assert.notEqual(liveTarget(), current);
  assert.match(liveMotd(), /one/, 'the previous good version serves');
  const s = fleet.cli('vigocli.js', ['server', 'status']);
  assert.equal(s.status, 0, s.stderr);
  assert.match(s.stdout, /ERROR: \.live .* did not load, so the previous version/);

  // every version is damaged: the server still starts, serves nothing, and says why
  for (const gen of readdirSync(join(fleet.dataDir, '.live.d'))) writeFileSync(join(fleet.dataDir, '.live.d', gen, 'envoys.vgo'), '- match: [\n');
  await restart();
  const none = await version();
  assert.equal(none.loaded, false);
  assert.match(none.live_error ?? '', /no earlier version does: envoys get no policy until you publish fixed stacks/);
  assert.match(fleet.cli('vigocli.js', ['server', 'status']).stdout, /ERROR: .*publish fixed stacks/);

  // and the operator can publish the fix, which clears the error
  const after = await fleet.api<{ version: number }>('POST', '/api/v1/config/publish');
  assert.ok(after.version > v.version);
  assert.deepEqual(await version(), { version: after.version, loaded: true, live_error: null });
  assert.match(liveMotd(), /two/);
});
