import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
        const opts = { fsRoot: root, protectedPaths: PROTECTED, usercratePolicyDir: join(root, 'policy'), hostEnv: process.env };
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

/** A hand edit an operator might make to what a resource manages; false when none applies. */
function tamper(root: string, r: Gen, pick: number): boolean {
  const p = join(root, r.path);
  const there = existsSync(p) || (() => { try { return lstatSync(p).isSymbolicLink(); } catch { return false; } })();
  if (r.state === 'absent') {
    if (there || r.type === 'directory') return false;
    mkdirSync(dirname(p), { recursive: true });
    if (r.type === 'file') writeFileSync(p, 'reappeared');
    else symlinkSync('somewhere', p);
    return true;
  }
  if (!there) return false;
  if (r.type === 'file') {
    if (pick % 3 === 0) writeFileSync(p, 'tampered');
    else if (pick % 3 === 1 && r['mode'] !== null) chmodSync(p, 0o777);
    else unlinkSync(p);
  } else if (r.type === 'directory') {
    if (pick % 2 === 0 && r['mode'] !== null) chmodSync(p, 0o777); // an unmanaged mode is the operator's
    else rmSync(p, { recursive: true });
  } else {
    unlinkSync(p);
    if (pick % 2 === 0) symlinkSync('elsewhere', p);
  }
  return true;
}

test('property: hand edits are put back by the next run (changed), and the run after is ok', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(resource, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(5), { minLength: 8, maxLength: 8 }), async (generated, picks) => {
      const root = mkdtempSync(join(tmpdir(), 'vgt-prop-'));
      try {
        const list = consistent(generated as Gen[]);
        if (list.length === 0) return;
        const b = bundle(list);
        const opts = { fsRoot: root, protectedPaths: PROTECTED, usercratePolicyDir: join(root, 'policy'), hostEnv: process.env };
        await converge(b, opts);
        // tamper with one resource (the others may sit under it and are put back too)
        const i = (picks[0] ?? 0) % list.length;
        const edited = tamper(root, list[i]!, picks[1] ?? 0);
        const second = await converge(b, opts);
        assert.equal(second.counts.failed, 0, JSON.stringify(second.resources));
        if (edited) assert.equal(second.status, 'changed', `edit of ${JSON.stringify(list[i])} not noticed`);
        const third = await converge(b, opts);
        assert.equal(third.status, 'ok', JSON.stringify(third.resources));
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }),
    { numRuns: 150 },
  );
});
