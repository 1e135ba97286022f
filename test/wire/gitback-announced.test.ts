// gitback-announced.json (docs/wire-formats.md §21): the checked-in vectors are the
// specification; the parser is strict because users read what multicast told root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VigoError } from '../../src/platform/errors.js';
import { projectId, fromHex } from '../../src/trust/index.js';
import {
  checkAnnouncedEntry,
  deriveFounder,
  encodeAnnouncedCache,
  MAX_ANNOUNCED_CACHE_BYTES,
  MAX_ANNOUNCED_ENTRIES,
  parseAnnouncedCache,
} from '../../src/wire/gitback-announced.js';
import { vectorDir } from '../vectors/generate.js';
import { ANNOUNCED_FILE, FOUNDER, OTHER, WEB, buildAnnouncedVectors, type AnnouncedVectors } from './announced-vectors.js';

const vectors = JSON.parse(readFileSync(join(vectorDir(), ANNOUNCED_FILE), 'utf8')) as AnnouncedVectors;

test('the checked-in vectors are what the code builds (a format change is deliberate)', () => {
  assert.deepEqual(buildAnnouncedVectors(), vectors);
});

test('every valid vector parses, re-encodes byte for byte, and its forged entries are exactly those refused', () => {
  for (const v of vectors.valid) {
    const c = parseAnnouncedCache(v.text, v.name);
    assert.equal(encodeAnnouncedCache(c), v.text, v.name);
    const forged = c.projects.filter((e) => !checkAnnouncedEntry(e).ok).map((e) => e.project_id);
    assert.deepEqual(forged, v.forged, v.name);
  }
});

test('every invalid vector is refused with E_ANNOUNCED_MALFORMED naming the file', () => {
  for (const v of vectors.invalid) {
    assert.throws(
      () => parseAnnouncedCache(v.text, '/var/lib/vigo/swarm/gitback/gitback-announced.json'),
      (e: unknown) => e instanceof VigoError && e.code === v.code && e.message.includes('gitback-announced.json'),
      v.name,
    );
  }
});

test('size and count limits are enforced before anything is trusted', () => {
  const big = `{"v":2,"written_at":0,"projects":[${' '.repeat(MAX_ANNOUNCED_CACHE_BYTES)}]}`;
  assert.throws(() => parseAnnouncedCache(big, 'f'), /bytes \(at most/);
  const many = Array.from({ length: MAX_ANNOUNCED_ENTRIES + 1 }, (_, i) => ({ project_id: i.toString(16).padStart(64, '0'), handle: null, founder: null, dr_scope: null, hosts: ['h'] }));
  assert.throws(() => parseAnnouncedCache(JSON.stringify({ v: 2, written_at: 0, projects: many }), 'f'), /at most 4096/);
});

test('a founder is derived only from a key whose sha256(key ‖ handle) is the id; a forged founder is refused', () => {
  assert.equal(deriveFounder(WEB, 'vigo-web', [OTHER, FOUNDER]), FOUNDER);
  assert.equal(deriveFounder(WEB, 'dotfiles', [OTHER, FOUNDER]), null);
  assert.equal(projectId(fromHex(FOUNDER), 'vigo-web'), WEB);
  const ok = checkAnnouncedEntry({ project_id: WEB, handle: 'vigo-web', founder: FOUNDER, dr_scope: 'swarm-wide', hosts: ['a'] });
  assert.deepEqual(ok, { ok: true });
  const bad = checkAnnouncedEntry({ project_id: WEB, handle: 'vigo-web', founder: OTHER, dr_scope: 'swarm-wide', hosts: ['a'] });
  assert.equal(bad.ok, false);
  // the handle is part of the preimage: the right founder with another handle is forged too
  assert.equal(checkAnnouncedEntry({ project_id: WEB, handle: 'dotfiles', founder: FOUNDER, dr_scope: 'swarm-wide', hosts: ['a'] }).ok, false);
});

test('the writer refuses to produce what the parser would refuse', () => {
  assert.throws(() => encodeAnnouncedCache({ written_at: 0, projects: [{ project_id: 'nothex', handle: null, founder: null, dr_scope: null, hosts: ['a'] }] }), RangeError);
});
