import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { converge } from '../../src/agent/engine/index.js';
import { PROTECTED, bundle } from './helpers.js';

// Resources over a small name space so that paths nest and collide: a generated set is
// made consistent (one resource per path, nothing under a file or symlink) and then
// converged twice on a fresh root. The second run must change nothing.
const seg = fc.constantFrom('a', 'b', 'c');
const relPath = fc.array(seg, { minLength: 1, maxLength: 3 }).map((s) => '/' + s.join('/'));
const mode = fc.constantFrom('0644', '0600', '0755', '0700', null);
const resource = fc.oneof(
  fc.record({ type: fc.constant('file'), path: relPath, content: fc.string({ maxLength: 20 }), mode, state: fc.constantFrom('present', 'absent') }),
  fc.record({ type: fc.constant('directory'), path: relPath, mode, state: fc.constantFrom('present', 'present', 'absent') }),
  fc.record({ type: fc.constant('symlink'), path: relPath, target: fc.oneof(relPath, seg), state: fc.constantFrom('present', 'absent') }),
);

type Gen = { type: string; path: string; state: string } & Record<string, unknown>;

function consistent(list: Gen[]): Gen[] {
  const byPath = new Map<string, Gen>();
  for (const r of list) if (!byPath.has(r.path)) byPath.set(r.path, r);
  const kept = [...byPath.values()].filter((r) => {
    // an ancestor that is not a present directory would make this path impossible
    const parts = r.path.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) {
      const anc = byPath.get('/' + parts.slice(0, i).join('/'));
      if (anc !== undefined && !(anc.type === 'directory' && anc.state === 'present')) return false;
    }
    // an absent directory with present things under it would fight them
    if (r.type === 'directory' && r.state === 'absent') {
      return ![...byPath.keys()].some((p) => p.startsWith(r.path + '/'));
    }
    return true;
  });
  // parents first, so a directory's mode does not block creating what is inside it
  return kept.sort((x, y) => x.path.split('/').length - y.path.split('/').length);
}

test('property: converging twice in a row, the second run is ok', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(resource, { maxLength: 10 }), async (generated) => {
      const root = mkdtempSync(join(tmpdir(), 'vgt-prop-'));
      try {
        const b = bundle(consistent(generated as Gen[]));
        const opts = { fsRoot: root, protectedPaths: PROTECTED, usercratePolicyDir: join(root, 'policy') };
        const first = await converge(b, opts);
        assert.equal(first.counts.failed, 0, JSON.stringify(first.resources));
        const second = await converge(b, opts);
        assert.equal(second.status, 'ok', JSON.stringify(second.resources));
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }),
    { numRuns: 150 },
  );
});
