import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { globMatches, loadStacks, resolveBundle } from '../../src/server/index.js';
import { parseBundle } from '../../src/wire/bundle.js';
import { stacksTree } from './helpers.js';

const APP = [
  'name: app',
  'vars:',
  '  port: 8080',
  '  debug: false',
  '  env: prod',
  'resources:',
  '  - type: directory',
  '    path: /opt/app',
  '    mode: "0755"',
  '  - type: file',
  '    path: "/opt/app/{{ .Envoy.hostname }}.conf"',
  `    content: 'port={{ .Vars.port }} debug={{.Vars.debug}} env={{ .Vars.env }} tmpl={{ "{{" }}x}}'`,
  '    require: ["directory:/opt/app"]',
  '  - type: exec',
  '    name: warm-cache',
  '    command: "curl -s localhost:{{ .Vars.port }}/warm"',
  '    unless: "test -e /opt/app/warm"',
  '    timeout_s: 30',
  '  - type: user',
  '    name: dan',
  '    state: present',
  '    require: ["app:file:/opt/app/{{ .Envoy.hostname }}.conf"]',
].join('\n');

const ENVOYS = [
  'envoys:',
  '  - match: "web-0[1-3]"',
  '    configcrates: [app, motd]',
  '    vars:',
  '      port: 9000',
  '  - match: "web-*"',
  '    configcrates: [app]',
  '    vars:',
  '      env: staging',
  '  - match: "db-?"',
  '    configcrates: [motd]',
].join('\n');

const MOTD = 'name: motd\nresources:\n  - type: file\n    path: /etc/motd\n    content: "hi {{ .Envoy.hostname }}\\n"\n';

function load(t: Parameters<typeof stacksTree>[0]) {
  return loadStacks(stacksTree(t, { 'configcrates/app.vgo': APP, 'configcrates/motd.vgo': MOTD, 'envoys.vgo': ENVOYS }));
}

test('first match wins; match-block vars override configcrate defaults; templates render', (t) => {
  const stacks = load(t);
  const b = resolveBundle(stacks, 'web-02', 12, 1764000123);
  assert.ok(b);
  assert.equal(b.version, 12);
  assert.equal(b.envoy, 'web-02');
  assert.equal(b.generated_at, 1764000123);
  assert.deepEqual(
    b.resources.map((r) => r.id),
    ['app:directory:/opt/app', 'app:file:/opt/app/web-02.conf', 'app:exec:warm-cache', 'app:user:dan', 'motd:file:/etc/motd'],
  );
  const conf = b.resources[1];
  assert.ok(conf?.type === 'file');
  assert.equal(conf.content, 'port=9000 debug=false env=prod tmpl={{x}}');
  assert.deepEqual(conf.require, ['app:directory:/opt/app']);
  const exec = b.resources[2];
  assert.ok(exec?.type === 'exec');
  assert.equal(exec.command, 'curl -s localhost:9000/warm');
  assert.equal(exec.timeout_s, 30);
  assert.deepEqual(b.resources[3]?.require, ['app:file:/opt/app/web-02.conf']);
  assert.deepEqual(parseBundle(JSON.parse(JSON.stringify(b))), b, 'the bundle survives JSON and the strict parser');

  const staging = resolveBundle(stacks, 'web-17', 12, 0);
  assert.ok(staging);
  assert.equal(staging.resources.length, 4, 'web-17 falls through to the second block: app only');
  const sconf = staging.resources[1];
  assert.ok(sconf?.type === 'file');
  assert.equal(sconf.content, 'port=8080 debug=false env=staging tmpl={{x}}');

  assert.deepEqual(resolveBundle(stacks, 'DB-7', 1, 0)?.resources.map((r) => r.id), ['motd:file:/etc/motd'], 'hostnames match case-insensitively');
  assert.equal(resolveBundle(stacks, 'db-17', 1, 0), null, '? is exactly one character');
  assert.equal(resolveBundle(stacks, 'mail-01', 1, 0), null, 'no block matches');
});

test('hostname globs: *, ?, classes, negated classes, literal dots', () => {
  assert.equal(globMatches('*', 'anything.example.com'), true);
  assert.equal(globMatches('web-*.example.com', 'web-01.example.com'), true);
  assert.equal(globMatches('web-*.example.com', 'web-01-example.com'), false);
  assert.equal(globMatches('web-??', 'web-01'), true);
  assert.equal(globMatches('web-??', 'web-001'), false);
  assert.equal(globMatches('web-[ab]*', 'web-b7'), true);
  assert.equal(globMatches('web-[!ab]*', 'web-b7'), false);
  assert.equal(globMatches('web-[^ab]*', 'web-c7'), true);
  assert.equal(globMatches('host(1)', 'host(1)'), true);
  assert.equal(globMatches('web-[0-9', 'web-[0-9'), false, 'an invalid glob matches nothing');
});

test('a hostname that makes a path escape is a resolve error, not a bundle', (t) => {
  const stacks = loadStacks(
    stacksTree(t, {
      'configcrates/per-host.vgo': 'name: per-host\nresources:\n  - type: directory\n    path: "/srv/{{ .Envoy.hostname }}/data"\n',
      'envoys.vgo': 'envoys:\n  - match: "*"\n    configcrates: [per-host]\n',
    }),
  );
  assert.equal(resolveBundle(stacks, 'web-01', 1, 0)?.resources[0]?.id, 'per-host:directory:/srv/web-01/data');
  assert.throws(() => resolveBundle(stacks, '..', 1, 0), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'E_STACKS_RESOLVE');
    assert.match(e.message, /^resolving the bundle for \.\.: configcrates\/per-host\.vgo:4: resources\[0\]\.path: must not contain "\." or "\.\." segments/);
    return true;
  });
});

test('the fingerprint covers file names and contents, nothing else', (t) => {
  const files = { 'configcrates/app.vgo': APP, 'configcrates/motd.vgo': MOTD, 'envoys.vgo': ENVOYS };
  const a = stacksTree(t, files);
  const b = stacksTree(t, files);
  writeFileSync(join(b, 'README'), 'not part of the stacks');
  const fa = loadStacks(a).fingerprint;
  assert.equal(loadStacks(b).fingerprint, fa, 'same files in another directory, plus a non-.vgo file');
  writeFileSync(join(b, 'configcrates/motd.vgo'), MOTD + '# a comment\n');
  assert.notEqual(loadStacks(b).fingerprint, fa);
  const c = stacksTree(t, { ...files, 'configcrates/motd.vgo': MOTD });
  writeFileSync(join(c, 'configcrates/zzz.vgo'), 'name: zzz\n');
  assert.notEqual(loadStacks(c).fingerprint, fa, 'a new file changes it');
});

test("a match block's usercrates bring each user's usercrate: the user resource with puddle and gitback", (t) => {
  const stacks = loadStacks(
    stacksTree(t, {
      'configcrates/motd.vgo': MOTD,
      'usercrates/dan.vgo': 'name: dan\nresources:\n  - type: user\n    name: dan\n    puddle: true\n    gitback: true\n  - type: file\n    name: dan-profile\n    path: /home/dan/.profile\n    content: "export EDITOR=vi\\n"\n    owner: dan\n',
      'usercrates/eve.vgo': 'name: eve\nresources:\n  - type: user\n    name: eve\n    puddle: true\n',
      'envoys.vgo': 'envoys:\n  - match: "web-*"\n    configcrates: [motd]\n    usercrates: [dan, eve]\n  - match: "*"\n    configcrates: [motd]\n',
    }),
  );
  const b = resolveBundle(stacks, 'web-01', 4, 0);
  assert.ok(b);
  assert.deepEqual(
    b.resources.map((r) => [r.id, r.configcrate]),
    [
      ['motd:file:/etc/motd', 'motd'],
      ['usercrates/dan:user:dan', 'usercrates/dan'],
      ['usercrates/dan:file:/home/dan/.profile', 'usercrates/dan'],
      ['usercrates/eve:user:eve', 'usercrates/eve'],
    ],
  );
  assert.deepEqual(b.resources[1], { id: 'usercrates/dan:user:dan', configcrate: 'usercrates/dan', type: 'user', name: 'dan', puddle: true, gitback: true });
  assert.equal(b.resources[2]?.name, 'dan-profile', 'a named resource keeps its name in the bundle');
  assert.deepEqual(parseBundle(JSON.parse(JSON.stringify(b))), b, 'the engine takes the bundle as it is');
  assert.deepEqual(resolveBundle(stacks, 'db-01', 4, 0)?.resources.map((r) => r.id), ['motd:file:/etc/motd'], 'a block without usercrates grants no one');
});
