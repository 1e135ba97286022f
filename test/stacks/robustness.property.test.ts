import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { loadStacks, resolveBundle, validateStacks } from '../../src/server/index.js';
import { parseBundle } from '../../src/wire/bundle.js';

// Stacks built from near-valid pieces and arbitrary values: validation must never throw,
// every problem must name a file, and whatever validates must resolve to bundles the
// engine's strict parser accepts.
const word = fc.constantFrom('a', 'b', 'motd', 'web', '{{ .Vars.x }}', '{{ .Envoy.hostname }}', '{{ .Vars.y', '0644', '/etc/a', '/opt/{{ .Vars.x }}', '..', '');
const value = fc.oneof(word, fc.integer(), fc.boolean(), fc.constant(null), fc.array(word, { maxLength: 2 }), fc.jsonValue({ maxDepth: 2 }));
const resource = fc.record(
  {
    type: fc.constantFrom('file', 'directory', 'symlink', 'exec', 'user', 'package'),
    path: fc.oneof(fc.constantFrom('/etc/a', '/opt/b', '/opt/{{ .Vars.x }}', '/etc/{{ .Envoy.hostname }}', 'rel'), value),
    content: fc.oneof(word, value),
    mode: fc.oneof(fc.constantFrom('0644', '0755', '999'), value),
    target: word,
    command: word,
    name: fc.constantFrom('dan', 'eve', 'init'),
    gitback: fc.oneof(fc.boolean(), value),
    state: fc.constantFrom('present', 'absent', 'gone'),
    require: fc.array(fc.constantFrom('file:/etc/a', 'directory:/opt/b', 'motd:file:/etc/a', 'x'), { maxLength: 2 }),
    extra: value,
  },
  { requiredKeys: ['type'] },
);
const crate = fc.record({ name: fc.constantFrom('a', 'b', 'x'), vars: fc.dictionary(fc.constantFrom('x', 'y', 'bad-name'), value, { maxKeys: 2 }), resources: fc.array(resource, { maxLength: 4 }) }, { requiredKeys: ['name'] });
const block = fc.record(
  {
    match: fc.constantFrom('*', 'web-*', 'db-?', '[ab]*', '[bad'),
    configcrates: fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }),
    usercrates: fc.oneof(fc.array(fc.constantFrom('dan', 'eve', '9x'), { maxLength: 2 }), value),
    vars: fc.dictionary(fc.constantFrom('x', 'y'), value, { maxKeys: 2 }),
  },
  { requiredKeys: ['match', 'configcrates'] },
);
// envoys.vgo: mostly the reference form, sometimes the old bare list or anything at all
const envoysFile = fc.oneof(fc.record({ envoys: fc.array(block, { maxLength: 3 }) }), fc.array(block, { maxLength: 2 }), value);

test('property: validateStacks never throws; what validates resolves to bundles the engine accepts', () => {
  fc.assert(
    fc.property(fc.array(crate, { maxLength: 2 }), fc.array(crate, { maxLength: 2 }), envoysFile, fc.constantFrom('web-01', 'db-1', 'a1', 'zzz'), (crates, usercrates, envoys, host) => {
      const dir = mkdtempSync(join(tmpdir(), 'vgt-stacks-prop-'));
      try {
        mkdirSync(join(dir, 'configcrates'));
        crates.forEach((c, i) => writeFileSync(join(dir, 'configcrates', `${i === 0 ? 'a' : 'b'}.vgo`), stringify(c)));
        mkdirSync(join(dir, 'usercrates'));
        usercrates.forEach((c, i) => writeFileSync(join(dir, 'usercrates', `${i === 0 ? 'dan' : 'eve'}.vgo`), stringify({ ...c, name: i === 0 ? 'dan' : 'eve' })));
        writeFileSync(join(dir, 'envoys.vgo'), stringify(envoys));
        const problems = validateStacks(dir);
        for (const p of problems) assert.ok(p.file !== '' && p.message !== '', JSON.stringify(p));
        if (problems.length > 0) return;
        const bundle = resolveBundle(loadStacks(dir), host, 1, 0);
        if (bundle !== null) assert.deepEqual(parseBundle(JSON.parse(JSON.stringify(bundle))), bundle);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }),
    { numRuns: 300 },
  );
});
