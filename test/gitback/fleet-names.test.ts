// The envoy's fleet name map as git-remote-gitback reads it (issue 14 item 4): the contract's
// format, only when root wrote it and no one else can; its write time in the unknown-name
// error; contested names name their claimants.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFleetNameMap } from '../../src/gitback/names.js';
import { parseGitbackUrl, resolveProjectId, computeProjectId } from '../../src/gitback/url.js';
import { makeNameMap } from '../../src/wire/swarm-fleet.js';

const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);
const root = process.getuid?.() === 0;

function mapFile(content: string, mode = 0o644): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vgt-names-'));
  const file = join(dir, 'name-map.json');
  writeFileSync(file, content, { mode });
  chmodSync(file, mode);
  return { dir, file };
}
const good = JSON.stringify(makeNameMap({ alice: { status: 'ok', pubkey: A }, ops: { status: 'contested', pubkeys: [A, B] } }));

test('a map root wrote parses with the contract; no file is "no map yet"', async () => {
  const { dir, file } = mapFile(good);
  try {
    const when = new Date('2026-12-01T10:00:00Z');
    utimesSync(file, when, when);
    const m = await readFleetNameMap(file, process.getuid?.() ?? 0);
    assert.deepEqual(m?.names.alice, { status: 'ok', pubkey: A });
    assert.equal(m?.writtenAt, '2026-12-01T10:00:00Z');
    assert.equal(await readFleetNameMap(join(dir, 'absent.json')), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a map not owned by root, writable by others, a symlink, or malformed is refused naming the file', { skip: root ? false : 'needs root to chown' }, async () => {
  const { dir, file } = mapFile(good);
  try {
    chownSync(file, 1, 1);
    await assert.rejects(readFleetNameMap(file), (e: Error) => e.message.includes(file) && /owned by uid 1, not root/.test(e.message));
    chownSync(file, 0, 0);
    for (const mode of [0o664, 0o646]) {
      chmodSync(file, mode);
      await assert.rejects(readFleetNameMap(file), /group- or world-writable/);
    }
    chmodSync(file, 0o644);
    assert.ok(await readFleetNameMap(file), 'the same file, root-owned and 0644, is read');
    const link = join(dir, 'link.json');
    symlinkSync(file, link);
    await assert.rejects(readFleetNameMap(link), /symbolic link/);
    // the pre-contract shape and a tampered sha are refused, not half-read
    writeFileSync(file, JSON.stringify({ names: { alice: A } }));
    await assert.rejects(readFleetNameMap(file), (e: Error) => e.message.startsWith(file));
    const tampered = JSON.parse(good) as { names: Record<string, unknown> };
    tampered.names.alice = { status: 'ok', pubkey: B };
    writeFileSync(file, JSON.stringify(tampered));
    await assert.rejects(readFleetNameMap(file), /sha256: does not match/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('resolving through the file: ok resolves, contested names its claimants, a miss falls back to the own claim', async () => {
  const { dir, file } = mapFile(good);
  try {
    const uid = process.getuid?.() ?? 0;
    const src = (own: { name: string; pubkey: string } | null) => ({ fleetMap: () => readFleetNameMap(file, uid), ownClaim: () => Promise.resolve(own) });
    assert.equal(await resolveProjectId(parseGitbackUrl('gitback://alice/web'), src(null)), computeProjectId(Buffer.from(A, 'hex'), 'web'));
    await assert.rejects(resolveProjectId(parseGitbackUrl('gitback://ops/web'), src({ name: 'ops', pubkey: A })), /'ops' is contested \(claimed by ed25519:aaaaaaaaaaaa…, ed25519:bbbbbbbbbbbb…\)/);
    assert.equal(await resolveProjectId(parseGitbackUrl('gitback://carol/web'), src({ name: 'carol', pubkey: B })), computeProjectId(Buffer.from(B, 'hex'), 'web'));
    await assert.rejects(resolveProjectId(parseGitbackUrl('gitback://carol/web'), src(null)), /the fleet name map \(written \d{4}-\d\d-\d\dT[\d:]+Z\) does not know it/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
