import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBundle } from '../../src/agent/engine/index.js';

const good = {
  version: 7,
  envoy: 'web-01',
  generated_at: 1764000000,
  resources: [
    { id: 'motd:file:/etc/motd', configcrate: 'motd', type: 'file', path: '/etc/motd', content: 'hello web-01\n', mode: '0644', owner: 'root', group: 'root', state: 'present' },
    { id: 'motd:directory:/opt/app', configcrate: 'motd', type: 'directory', path: '/opt/app', mode: '0755', state: 'present' },
    { id: 'motd:symlink:/opt/current', configcrate: 'motd', type: 'symlink', path: '/opt/current', target: '/opt/app', state: 'present' },
    { id: 'motd:exec:init-db', configcrate: 'motd', type: 'exec', command: 'touch /opt/app/.ready', creates: '/opt/app/.ready', unless: null, timeout_s: 300 },
    { id: 'people:user:dan', configcrate: 'people', type: 'user', name: 'dan', puddle: true, gitback: true, state: 'present' },
  ],
};

test('the contract example bundle parses unchanged', () => {
  assert.deepEqual(parseBundle(structuredClone(good)), good);
});

function withResource(i: number, patch: Record<string, unknown>): unknown {
  const b = structuredClone(good) as { resources: Array<Record<string, unknown>> };
  b.resources[i] = { ...b.resources[i], ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete b.resources[i]![k];
  return b;
}

const cases: Array<[string, unknown, RegExp]> = [
  ['not an object', [], /\(top level\): must be an object/],
  ['unknown top-level field', { ...good, extra: 1 }, /extra: unknown field/],
  ['bad version', { ...good, version: -1 }, /version: must be a non-negative integer/],
  ['resources not a list', { ...good, resources: {} }, /resources: must be a list/],
  ['unknown type', withResource(3, { type: 'package' }), /resources\[3\]\.type: unknown resource type "package"/],
  ['unknown field', withResource(1, { content: 'x' }), /resources\[1\]\.content: unknown field for a directory resource/],
  ['wrong type', withResource(0, { mode: 644 }), /resources\[0\]\.mode: must be a string or null/],
  ['bad mode', withResource(0, { mode: '0999' }), /resources\[0\]\.mode: must be an octal mode/],
  ['bad owner', withResource(0, { owner: 'Root;rm' }), /resources\[0\]\.owner: must be a user\/group name/],
  ['missing path', withResource(1, { path: undefined }), /resources\[1\]\.path: is required/],
  ['relative path', withResource(1, { path: 'opt/app' }), /resources\[1\]\.path: must be an absolute path/],
  ['dot-dot path', withResource(1, { path: '/opt/../etc' }), /resources\[1\]\.path: must not contain "\." or "\.\." segments/],
  ['root path', withResource(1, { path: '/' }), /resources\[1\]\.path: must not be the root directory/],
  ['bad state', withResource(2, { state: 'gone' }), /resources\[2\]\.state: must be "present" or "absent"/],
  ['symlink without target', withResource(2, { target: undefined }), /resources\[2\]\.target: is required when state is present/],
  ['bad timeout', withResource(3, { timeout_s: 0 }), /resources\[3\]\.timeout_s: must be a number of seconds/],
  ['relative creates', withResource(3, { creates: 'x' }), /resources\[3\]\.creates: must be an absolute path/],
  ['bad user name', withResource(4, { name: '../../etc/passwd' }), /resources\[4\]\.name: must be a Unix user name/],
  ['flag not bool', withResource(4, { gitback: 'yes' }), /resources\[4\]\.gitback: must be true or false/],
  ['duplicate id', withResource(1, { id: 'motd:file:/etc/motd' }), /resources\[1\]\.id: duplicate id "motd:file:\/etc\/motd" \(also resources\[0\]\)/],
  ['two resources on one path', withResource(1, { path: '/etc/motd' }), /resources\[1\]\.path: \/etc\/motd is also managed by resources\[0\]/],
  ['two resources for one user', (() => {
    const b = structuredClone(good) as { resources: Array<Record<string, unknown>> };
    b.resources.push({ id: 'other:user:dan', configcrate: 'other', type: 'user', name: 'dan' });
    return b;
  })(), /resources\[5\]\.name: dan is also managed by resources\[4\]/],
  ['unknown require', withResource(1, { require: ['nope'] }), /resources\[1\]\.require\[0\]: no resource has id "nope"/],
  ['require cycle', (() => {
    const b = withResource(0, { require: ['motd:directory:/opt/app'] }) as { resources: Array<Record<string, unknown>> };
    b.resources[1]!['require'] = ['motd:file:/etc/motd'];
    return b;
  })(), /require forms a cycle/],
];

for (const [name, input, re] of cases) {
  test(`parseBundle refuses: ${name}`, () => {
    assert.throws(() => parseBundle(input), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'E_BAD_BUNDLE');
      assert.match(e.message, re);
      return true;
    });
  });
}

test('property: parseBundle accepts or refuses with E_BAD_BUNDLE, never anything else', async () => {
  const fc = (await import('fast-check')).default;
  const field = fc.constantFrom('id', 'configcrate', 'type', 'path', 'content', 'mode', 'require', 'state', 'name', 'command', 'constructor', '__proto__', 'toString');
  const res = fc.dictionary(field, fc.oneof(fc.constantFrom('file', 'directory', 'user', 'exec', '/a', 'x', '0644', 'dan'), fc.jsonValue({ maxDepth: 1 })), { maxKeys: 6 });
  fc.assert(
    fc.property(fc.oneof(fc.anything(), fc.record({ version: fc.nat(), envoy: fc.constant('e'), generated_at: fc.nat(), resources: fc.array(res, { maxLength: 4 }) })), (input) => {
      try {
        const b = parseBundle(input);
        for (const r of b.resources) for (const k of Object.keys(r)) assert.ok(!['constructor', '__proto__', 'toString'].includes(k), k);
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'E_BAD_BUNDLE', String(e));
      }
    }),
    { numRuns: 500 },
  );
});

test('prototype-ish field names are unknown fields, not loopholes', () => {
  for (const k of ['constructor', 'toString', 'hasOwnProperty']) {
    assert.throws(() => parseBundle(withResource(1, { [k]: 'x' })), new RegExp(`resources\\[1\\]\\.${k}: unknown field`));
  }
  const proto = JSON.parse('{"version":1,"envoy":"e","generated_at":0,"resources":[{"id":"a","configcrate":"c","type":"directory","path":"/a","__proto__":{"x":1}}]}') as unknown;
  assert.throws(() => parseBundle(proto), /resources\[0\]\.__proto__: unknown field/);
});
