import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadStacks, validateStacks } from '../../src/server/index.js';
import { stacksTree } from './helpers.js';

const ENVOYS_OK = 'envoys:\n  - match: "*"\n    configcrates: [app]\n';

function problems(t: Parameters<typeof stacksTree>[0], files: Record<string, string>): string[] {
  return validateStacks(stacksTree(t, files)).map((p) => `${p.file}:${p.line}: ${p.message}`);
}

test('every problem in a configcrate is reported with its file and line', (t) => {
  const crate = [
    'name: app', //                                       1
    'vars:', //                                           2
    '  port: 8080', //                                    3
    '  bad-name: x', //                                   4
    'colour: blue', //                                    5
    'resources:', //                                      6
    '  - type: file', //                                  7
    '    path: etc/app.conf', //                          8
    '    mode: 0644', //                                  9
    '    content: "port={{ .Vars.port }} {{ .Vars.nope }}"', // 10
    '  - type: package', //                               11
    '    name: nginx', //                                 12
    '  - type: directory', //                             13
    '    path: /opt/app', //                              14
    '    mode: "0999"', //                                15
    '    owner: root', //                                 16
    '    content: x', //                                  17
    '  - type: symlink', //                               18
    '    path: /opt/../etc/x', //                         19
    '    target: /opt/app', //                            20
    '  - type: file', //                                  21
    '    path: /opt/app', //                              22
    '  - type: exec', //                                  23
    '    command: "echo {{ .Envoy.name }}"', //           24
    '  - type: user', //                                  25
    '    id: x', //                                       26
    '    name: dan', //                                   27
    '    gitback: yes', //                                28
    '  - path: /x', //                                    29
    '  - type: file', //                                  30
    '    path: "/a/{{ .Vars.port"', //                    31
    '  - type: symlink', //                               32
    '    path: /opt/link', //                             33
    '    require: ["file:/nowhere"]', //                  34
    '    target: x', //                                   35
  ].join('\n');
  assert.deepEqual(problems(t, { 'configcrates/app.vgo': crate, 'envoys.vgo': ENVOYS_OK }), [
    'configcrates/app.vgo:4: vars.bad-name: not a valid variable name (letters, digits, _; not starting with a digit)',
    'configcrates/app.vgo:5: colour: unknown key (known: name, description, vars, resources)',
    'configcrates/app.vgo:9: resources[0].mode: must be a quoted octal string like "0644" (YAML reads 0644 as the number 644)',
    'configcrates/app.vgo:11: resources[1] "nginx".type: unknown resource type "package" (known: file, directory, symlink, exec, user)',
    'configcrates/app.vgo:17: resources[2].content: unknown field for a directory resource (known: type, require, path, name, mode, owner, group, state, recurse, follow_symlinks)',
    'configcrates/app.vgo:24: resources[5].command: unsupported template expression "{{ .Envoy.name }}" (use {{ .Vars.name }}, {{ .Envoy.hostname }} or {{ "text" }})',
    'configcrates/app.vgo:26: resources[6] "dan".id: is filled in by the server when it resolves the bundle; remove it',
    "configcrates/app.vgo:28: resources[6] \"dan\".gitback: is granted in the user's usercrate, not in a configcrate: move this user resource to usercrates/dan.vgo and list dan under the match block's usercrates:",
    'configcrates/app.vgo:29: resources[7].type: is required (known: file, directory, symlink, exec, user)',
    'configcrates/app.vgo:31: resources[8].path: unclosed "{{" in template',
    'configcrates/app.vgo:19: resources[3].path: must not contain "." or ".." segments (got "/opt/../etc/x")',
    'configcrates/app.vgo:34: resources[9].require[0]: no resource "app:file:/nowhere" (in the bundle of the match block at envoys.vgo:2)',
  ].sort(byLine));
});

function byLine(a: string, b: string): number {
  return Number(a.split(':')[1]) - Number(b.split(':')[1]);
}

test('values are checked after rendering: undefined vars, bad modes, relative paths, duplicates', (t) => {
  const crate = [
    'name: app', //                                1
    'vars:', //                                    2
    '  dir: /srv/app', //                          3
    'resources:', //                               4
    '  - type: directory', //                      5
    '    path: "{{ .Vars.dir }}"', //              6
    '    mode: "{{ .Vars.dirmode }}"', //          7
    '  - type: file', //                           8
    '    path: "{{ .Vars.rel }}/conf"', //         9
    '    content: "{{ .Vars.missing }}"', //       10
    '  - type: file', //                           11
    '    path: /srv/app', //                       12
    '    content: dup', //                         13
  ].join('\n');
  const envoys = [
    'envoys:', //                                    1
    '  - match: "web-*"', //                         2
    '    configcrates: [app]', //                    3
    '    vars:', //                                  4
    '      dirmode: "0755"', //                      5
    '      rel: relative', //                        6
    '  - match: "*"', //                             7
    '    configcrates: [app]', //                    8
    '    vars:', //                                  9
    '      dirmode: "75"', //                        10
    '      rel: /ok', //                             11
    '      missing: here', //                        12
  ].join('\n');
  assert.deepEqual(problems(t, { 'configcrates/app.vgo': crate, 'envoys.vgo': envoys }), [
    'configcrates/app.vgo:7: resources[0].mode: must be an octal mode like "0644" (got "75")',
    'configcrates/app.vgo:9: resources[1].path: must be an absolute path (got "relative/conf")',
    'configcrates/app.vgo:10: resources[1].content: undefined variable .Vars.missing (not set by the configcrate vars nor the match block at envoys.vgo:2)',
    'configcrates/app.vgo:11: resources[2]: duplicate path /srv/app, also declared at configcrates/app.vgo:5 (in the bundle of the match block at envoys.vgo:2)',
    'configcrates/app.vgo:11: resources[2]: duplicate path /srv/app, also declared at configcrates/app.vgo:5 (in the bundle of the match block at envoys.vgo:7)',
  ]);
});

test('duplicates across configcrates in one match block name both files', (t) => {
  const motd = 'name: motd\nresources:\n  - type: file\n    path: /etc/motd\n    content: a\n';
  const banner = 'name: banner\nresources:\n  - type: exec\n    command: "true"\n  - type: file\n    path: /etc/motd\n    content: b\n';
  const envoys = 'envoys:\n  - match: "a*"\n    configcrates: [motd]\n  - match: "*"\n    configcrates: [motd, banner]\n';
  assert.deepEqual(problems(t, { 'configcrates/motd.vgo': motd, 'configcrates/banner.vgo': banner, 'envoys.vgo': envoys }), [
    'configcrates/banner.vgo:5: resources[1]: duplicate path /etc/motd, also declared at configcrates/motd.vgo:3 (in the bundle of the match block at envoys.vgo:4)',
  ]);
});

test('envoys.vgo problems: missing configcrates, bad globs, unknown keys, wrong shapes', (t) => {
  const envoys = [
    'envoys:', //                                    1
    '  - match: "web-[0-9"', //                      2
    '    configcrates: [app, ghost, app]', //        3
    '  - match: "*"', //                             4
    '    configcrate: [app]', //                     5
    '  - configcrates: []', //                       6
    '  - "just a string"', //                        7
    '  - match: "*"', //                             8
    '    configcrates:', //                          9
    '      - app', //                                10
    '      - phantom', //                            11
    '    vars: [1, 2]', //                           12
    '  - match: "*"', //                             13
    '    configcrates: []', //                       14
    '    usercrates: [dan, "9lives", dan]', //       15
    'stacks: {}', //                                 16
  ].join('\n');
  assert.deepEqual(problems(t, { 'configcrates/app.vgo': 'name: app\n', 'envoys.vgo': envoys }), [
    'envoys.vgo:2: envoys[0].match: unclosed "[" in "web-[0-9"',
    'envoys.vgo:3: envoys[0].configcrates: [2] "app" is listed twice',
    'envoys.vgo:4: envoys[1].configcrates: is required',
    'envoys.vgo:5: envoys[1].configcrate: unknown key (known: match, configcrates, usercrates, vars)',
    'envoys.vgo:6: envoys[2].match: is required',
    'envoys.vgo:7: envoys[3]: must be a map with match and configcrates',
    'envoys.vgo:11: envoys[4].configcrates[1]: no configcrate "phantom" (expected configcrates/phantom.vgo)',
    'envoys.vgo:12: envoys[4].vars: must be a map of name: value',
    'envoys.vgo:15: envoys[5].usercrates: [1] must be a Unix user name (its usercrate is usercrates/<user>.vgo)',
    'envoys.vgo:15: envoys[5].usercrates: [2] "dan" is listed twice',
    'envoys.vgo:16: stacks: unknown key (known: envoys)',
  ]);
});

test('YAML syntax errors, a name that does not match the file, and a missing envoys.vgo', (t) => {
  assert.deepEqual(
    problems(t, {
      'configcrates/broken.vgo': 'name: broken\nresources:\n  - type: file\n    path: [1, 2\nvars: {}\n',
      'configcrates/dupkey.vgo': 'name: dupkey\nvars: {}\nvars: {}\n',
      'configcrates/web.vgo': 'name: webserver\n',
      'configcrates/alias.vgo': 'name: alias\nvars:\n  a: &x hello\nresources:\n  - type: file\n    path: /a\n    content: *x\n',
    }),
    [
      'configcrates/alias.vgo:7: YAML aliases (*name) are not supported',
      'configcrates/broken.vgo:5: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'configcrates/dupkey.vgo:3: YAML: Map keys must be unique',
      'configcrates/web.vgo:1: name: must be "web", the file\'s name without .vgo (got "webserver")',
      'envoys.vgo:null: missing: the stacks need an envoys.vgo with the match blocks',
    ],
  );
});

test('a configcrate no match block uses is still checked, but may leave vars to match blocks', (t) => {
  const unused = 'name: unused\nresources:\n  - type: file\n    path: "/etc/{{ .Vars.name }}"\n  - type: directory\n    path: relative\n';
  assert.deepEqual(problems(t, { 'configcrates/unused.vgo': unused, 'envoys.vgo': 'envoys: []\n' }), [
    'configcrates/unused.vgo:6: resources[1].path: must be an absolute path (got "relative")',
  ]);
});

test('loadStacks refuses invalid stacks with every problem as file:line: message', (t) => {
  const dir = stacksTree(t, { 'configcrates/app.vgo': 'name: app\nresources:\n  - type: file\n    path: x\n', 'envoys.vgo': 'envoys:\n  - match: "*"\n    configcrates: [app, nope]\n' });
  assert.throws(() => loadStacks(dir), (e: Error & { code?: string; hint?: string }) => {
    assert.equal(e.code, 'E_STACKS_INVALID');
    assert.match(e.message, /\(2 problems\):\n {2}configcrates\/app\.vgo:4: resources\[0\]\.path: must be an absolute path/);
    assert.match(e.message, /\n {2}envoys\.vgo:3: envoys\[0\]\.configcrates\[1\]: no configcrate "nope"/);
    assert.match(e.hint ?? '', /vigocli config validate/);
    return true;
  });
});

test('a missing stacks directory is one problem', (t) => {
  const dir = stacksTree(t, {});
  assert.deepEqual(validateStacks(dir + '/nope'), [{ file: dir + '/nope', line: null, message: 'stacks directory not found' }]);
});

test('an empty envoys.vgo is valid (no envoy matches yet); dotfiles in configcrates are ignored', (t) => {
  const dir = stacksTree(t, { 'envoys.vgo': '# nothing yet\n', 'configcrates/.app.vgo.swp.vgo': ':::', 'configcrates/notes.txt': 'x' });
  assert.deepEqual(validateStacks(dir), []);
  assert.equal(loadStacks(dir).envoys.length, 0);
});

test('__proto__ and constructor in .vgo files are plain names: unknown keys, or ordinary vars', (t) => {
  const crate = 'name: app\nvars:\n  __proto__: polluted\nresources:\n  - type: file\n    path: /a\n    constructor: x\n    content: "{{ .Vars.__proto__ }}"\n';
  assert.deepEqual(problems(t, { 'configcrates/app.vgo': crate, 'envoys.vgo': ENVOYS_OK }), [
    'configcrates/app.vgo:7: resources[0].constructor: unknown field for a file resource (known: type, require, path, name, content, mode, owner, group, state, follow_symlinks)',
  ]);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

test('the old envoys.vgo form, a bare list of match blocks, is refused saying how to write it', (t) => {
  assert.deepEqual(problems(t, { 'configcrates/app.vgo': 'name: app\n', 'envoys.vgo': '- match: "*"\n  configcrates: [app]\n' }), [
    'envoys.vgo:1: a bare list of match blocks is not the envoys.vgo form: put the list under an envoys: key (envoys:⏎  - match: "web-*"⏎    configcrates: [app]⏎    usercrates: [dan])',
  ]);
  assert.deepEqual(problems(t, { 'configcrates/app.vgo': 'name: app\n', 'envoys.vgo': 'envoys:\n  match: "*"\n' }), ['envoys.vgo:2: envoys: must be a list of match blocks (- match: "web-*" …)']);
  assert.deepEqual(problems(t, { 'envoys.vgo': 'envoys:\n' }), [], 'envoys: with nothing under it yet is valid');
});

test('puddle: and gitback: on a user in a configcrate are refused: they belong in the usercrate', (t) => {
  const people = 'name: people\nresources:\n  - type: user\n    name: dan\n    puddle: true\n    gitback: true\n  - type: user\n    name: svc-backup\n';
  assert.deepEqual(problems(t, { 'configcrates/people.vgo': people, 'envoys.vgo': 'envoys:\n  - match: "*"\n    configcrates: [people]\n' }), [
    "configcrates/people.vgo:5: resources[0] \"dan\".puddle: is granted in the user's usercrate, not in a configcrate: move this user resource to usercrates/dan.vgo and list dan under the match block's usercrates:",
    "configcrates/people.vgo:6: resources[0] \"dan\".gitback: is granted in the user's usercrate, not in a configcrate: move this user resource to usercrates/dan.vgo and list dan under the match block's usercrates:",
  ]);
});

test('usercrate problems: a missing usercrate, another user, no user resource, a bad file name, a wrong kind', (t) => {
  const envoys = [
    'envoys:', //                                      1
    '  - match: "*"', //                               2
    '    configcrates: []', //                         3
    '    usercrates: [dan, eve, bob, zed, ann]', //    4
  ].join('\n');
  assert.deepEqual(
    problems(t, {
      'envoys.vgo': envoys,
      'usercrates/dan.vgo': 'name: dan\nresources:\n  - type: user\n    name: dan\n    gitback: true\n',
      'usercrates/eve.vgo': 'name: eve\nresources:\n  - type: user\n    name: mallory\n    gitback: true\n',
      'usercrates/bob.vgo': 'name: bob\nresources:\n  - type: file\n    path: /home/bob/.profile\n',
      'usercrates/ann.vgo': 'name: ann\nresources:\n  - type: user\n    name: ann\n    gitback: yes\n',
      'usercrates/9lives.vgo': 'name: 9lives\n',
    }),
    [
      'usercrates/9lives.vgo:null: "9lives" is not a Unix user name (a letter or _, then letters, digits, _ . -; at most 32): a usercrate is named after its user',
      'usercrates/ann.vgo:5: resources[0] "ann".gitback: must be true or false',
      'usercrates/bob.vgo:1: holds no user resource: a usercrate holds its user\'s, e.g. resources:⏎  - type: user⏎    name: bob⏎    puddle: true⏎    gitback: true',
      'usercrates/eve.vgo:4: resources[0] "mallory".name: a usercrate holds its own user\'s resource: must be "eve", the file\'s name without .vgo (another user has usercrates/<that user>.vgo)',
      'envoys.vgo:4: envoys[0].usercrates[3]: no usercrate for "zed" (expected usercrates/zed.vgo holding the type: user resource)',
    ],
  );
});

test('a named resource is named in its problems', (t) => {
  const crate = 'name: app\nresources:\n  - type: file\n    name: app-config\n    path: relative.conf\n  - type: directory\n    name: 7\n    path: /opt\n';
  assert.deepEqual(problems(t, { 'configcrates/app.vgo': crate, 'envoys.vgo': ENVOYS_OK }), [
    'configcrates/app.vgo:5: resources[0] "app-config".path: must be an absolute path (got "relative.conf")',
    'configcrates/app.vgo:7: resources[1].name: must be a string or null',
  ]);
});
