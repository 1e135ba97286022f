// Builds test/vectors/gitback-announce.json and test/vectors/gitback-manifest.json, and runs
// one fixture of either file. The checked-in JSON is the specification: vectors.test.ts
// loads it as it is and never regenerates it. Regenerate only after a deliberate format
// change: `npx tsc -p tsconfig.json && node dist/test/swarm/vectors.js`, then review the
// diff and docs/wire-formats.md §14–15.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalize, domainTag, toHex, tokenId } from '../../src/trust/index.js';
import {
  checkBundleRefs,
  encodeAnnounceLine,
  manifestId,
  manifestSigningMessage,
  manifestText,
  parseAnnounceDatagram,
  parseAnnounceLine,
  parseManifest,
  verifyManifest,
  type Announce,
  type Manifest,
} from '../../src/swarm/index.js';
import { vectorDir, serialize } from '../vectors/generate.js';
import { ENVOY_A, NOW, T0, oid, pk, projectFixture, sha, sign } from './fixtures.js';

export const ANNOUNCE_FILE = 'gitback-announce.json';
export const MANIFEST_FILE = 'gitback-manifest.json';

// --- announce -------------------------------------------------------------------------

export interface AnnounceVectors {
  valid: Array<{ name: string; line: string; announce: Announce; reencoded: string }>;
  invalid: Array<{ name: string; line?: string; datagram?: { prefix: string; repeat: string; times: number; suffix: string }; code: string }>;
}

const PID = sha('announce/project');
const EID = ENVOY_A;

export function buildAnnounceVectors(): AnnounceVectors {
  const valid: AnnounceVectors['valid'] = [];
  const add = (name: string, line: string): void => {
    const r = parseAnnounceLine(line);
    if (!r.ok) throw new Error(`valid announce vector ${name} refused: ${r.code}`);
    valid.push({ name, line, announce: r.announce, reencoded: encodeAnnounceLine(r.announce) });
  };
  add('project, 5 fields', `GITBACKPROJECT:build-01.lan:${PID}:vigo-web:swarm-wide`);
  add('project, members-only', `GITBACKPROJECT:10.20.0.4:${PID}:payroll_2.x:members-only`);
  add('project, old 2-field line', `GITBACKPROJECT:old-agent:${PID}`);
  add('envoy presence', `VIGOENVOY:build-01.lan:${EID}:1531`);
  add('envoy presence, other port', `VIGOENVOY:edge-7:${EID}:15310`);
  const invalid: AnnounceVectors['invalid'] = [
    { name: 'unknown kind', line: `GITBACKREPO:h:${PID}`, code: 'E_ANNOUNCE_UNKNOWN_KIND' },
    { name: 'lower-case tag', line: `gitbackproject:h:${PID}`, code: 'E_ANNOUNCE_UNKNOWN_KIND' },
    { name: '4 fields', line: `GITBACKPROJECT:h:${PID}:vigo-web`, code: 'E_ANNOUNCE_FIELDS' },
    { name: '6 fields', line: `GITBACKPROJECT:h:${PID}:vigo-web:swarm-wide:x`, code: 'E_ANNOUNCE_FIELDS' },
    { name: 'presence with 3 fields', line: `VIGOENVOY:h:${EID}`, code: 'E_ANNOUNCE_FIELDS' },
    { name: 'empty host', line: `GITBACKPROJECT::${PID}`, code: 'E_ANNOUNCE_HOST' },
    { name: 'host with underscore', line: `GITBACKPROJECT:bad_host:${PID}`, code: 'E_ANNOUNCE_HOST' },
    { name: 'host label starting with a hyphen', line: `VIGOENVOY:-h.lan:${EID}:1531`, code: 'E_ANNOUNCE_HOST' },
    { name: 'upper-case project id', line: `GITBACKPROJECT:h:${PID.toUpperCase()}`, code: 'E_ANNOUNCE_PROJECT_ID' },
    { name: 'short project id', line: `GITBACKPROJECT:h:${PID.slice(2)}`, code: 'E_ANNOUNCE_PROJECT_ID' },
    { name: 'handle starting with a dot', line: `GITBACKPROJECT:h:${PID}:.hidden:swarm-wide`, code: 'E_ANNOUNCE_HANDLE' },
    { name: 'unknown scope', line: `GITBACKPROJECT:h:${PID}:vigo-web:everyone`, code: 'E_ANNOUNCE_SCOPE' },
    { name: 'envoy id not a UUID', line: `VIGOENVOY:h:not-an-envoy:1531`, code: 'E_ANNOUNCE_ENVOY_ID' },
    { name: 'port 0', line: `VIGOENVOY:h:${EID}:0`, code: 'E_ANNOUNCE_PORT' },
    { name: 'port 65536', line: `VIGOENVOY:h:${EID}:65536`, code: 'E_ANNOUNCE_PORT' },
    { name: 'port with a leading zero', line: `VIGOENVOY:h:${EID}:01531`, code: 'E_ANNOUNCE_PORT' },
    { name: 'space inside', line: `GITBACKPROJECT:h:${PID}:vigo web:swarm-wide`, code: 'E_ANNOUNCE_NOT_ASCII' },
    { name: 'non-ASCII byte', line: `GITBACKPROJECT:h\u00e9:${PID}`, code: 'E_ANNOUNCE_NOT_ASCII' },
    { name: 'oversized line', line: `GITBACKPROJECT:${'a.'.repeat(300)}b:${PID}`, code: 'E_ANNOUNCE_OVERSIZE' },
    { name: 'oversized datagram', datagram: { prefix: '', repeat: `VIGOENVOY:h:${EID}:1531\n`, times: 40, suffix: '' }, code: 'E_ANNOUNCE_OVERSIZE' },
    { name: 'too many lines', datagram: { prefix: '', repeat: 'VIGOENVOY:h:x:1\n', times: 40, suffix: '' }, code: 'E_ANNOUNCE_TOO_MANY_LINES' },
  ];
  return { valid, invalid };
}

/** The refusal code a vector's input gets (the last one, for a datagram: the one it is about). */
export function announceCode(v: AnnounceVectors['invalid'][number]): string | null {
  if (v.line !== undefined) {
    const r = parseAnnounceLine(v.line);
    return r.ok ? null : r.code;
  }
  const d = v.datagram!;
  const refused = parseAnnounceDatagram(new Uint8Array(Buffer.from(d.prefix + d.repeat.repeat(d.times) + d.suffix, 'latin1'))).refused;
  return refused[refused.length - 1]?.code ?? null;
}

// --- manifest -------------------------------------------------------------------------

export interface ManifestFixture {
  name: string;
  op: 'verifyManifest' | 'parseManifest' | 'checkBundleRefs';
  description: string;
  input: Record<string, unknown>;
  expect: { ok: true; id?: string } | { ok: false; code: string; chain_code?: string };
}

export interface ManifestVectors {
  domain_tag_hex: string;
  example: { manifest: Manifest; canonical: string; signing_message_hex: string; id: string; signer_seed_of: string };
  fixtures: ManifestFixture[];
}

export async function buildManifestVectors(): Promise<ManifestVectors> {
  const f = await projectFixture();
  const refs = [
    { ref: 'refs/heads/main', old: oid('c1'), new: oid('c2') },
    { ref: 'refs/tags/v1.0', old: null, new: oid('c2') },
  ];
  const good = await sign(f.pid, 'bob', 7, refs);
  const ctx = (o: Record<string, unknown> = {}): Record<string, unknown> => ({ project_id: f.pid, now: NOW, bundle_sha256: good.bundle_sha256, revoked: [], ...o });
  const byAlice = await sign(f.pid, 'alice', 7, refs);
  const otherProject = await sign(f.otherPid, 'alice', 1, refs);
  const fixtures: ManifestFixture[] = [
    { name: 'valid', op: 'verifyManifest', description: "bob's signed update under his member chain", input: { manifest: good, chain: f.bobChain, ...ctx() }, expect: { ok: true, id: manifestId(good) } },
    { name: 'valid-relayed', op: 'verifyManifest', description: 'a relayed update: the bundle was rebuilt, so no bundle hash is checked', input: { manifest: good, chain: f.bobChain, ...ctx({ bundle_sha256: null }) }, expect: { ok: true, id: manifestId(good) } },
    { name: 'malformed-extra-field', op: 'verifyManifest', description: 'a field the format does not have', input: { manifest: { ...good, note: 'x' }, chain: f.bobChain, ...ctx() }, expect: { ok: false, code: 'E_MANIFEST_MALFORMED' } },
    { name: 'malformed-ref-name', op: 'verifyManifest', description: 'a ref outside refs/ or with ".."', input: { manifest: { ...good, refs: [{ ref: 'refs/heads/../../config', old: null, new: oid('c2') }] }, chain: f.bobChain, ...ctx() }, expect: { ok: false, code: 'E_MANIFEST_MALFORMED' } },
    { name: 'malformed-unsorted-refs', op: 'verifyManifest', description: 'refs out of order (or twice)', input: { manifest: { ...good, refs: [refs[1], refs[0]] }, chain: f.bobChain, ...ctx() }, expect: { ok: false, code: 'E_MANIFEST_MALFORMED' } },
    { name: 'malformed-noop-update', op: 'verifyManifest', description: 'old tip equals new tip', input: { manifest: { ...good, refs: [{ ref: 'refs/heads/main', old: oid('c1'), new: oid('c1') }] }, chain: f.bobChain, ...ctx() }, expect: { ok: false, code: 'E_MANIFEST_MALFORMED' } },
    { name: 'malformed-seq-zero', op: 'verifyManifest', description: 'sequence numbers start at 1', input: { manifest: { ...good, seq: 0 }, chain: f.bobChain, ...ctx() }, expect: { ok: false, code: 'E_MANIFEST_MALFORMED' } },
    { name: 'wrong-project', op: 'verifyManifest', description: "grafting: a valid manifest of another project presented at this project's URL", input: { manifest: otherProject, chain: f.otherAliceChain, ...ctx() }, expect: { ok: false, code: 'E_MANIFEST_WRONG_PROJECT' } },
    { name: 'bundle-hash', op: 'verifyManifest', description: 'the bundle that came with it is not the one signed', input: { manifest: good, chain: f.bobChain, ...ctx({ bundle_sha256: sha('another bundle') }) }, expect: { ok: false, code: 'E_MANIFEST_BUNDLE_HASH' } },
    { name: 'signer-not-leaf', op: 'verifyManifest', description: "alice signs, but the chain presented is bob's", input: { manifest: byAlice, chain: f.bobChain, ...ctx() }, expect: { ok: false, code: 'E_MANIFEST_SIGNER_NOT_LEAF' } },
    { name: 'chain-other-project', op: 'verifyManifest', description: "the manifest names this project but the chain is alice's in another project", input: { manifest: byAlice, chain: f.otherAliceChain, ...ctx() }, expect: { ok: false, code: 'E_MANIFEST_CHAIN', chain_code: 'E_WRONG_PROJECT' } },
    { name: 'chain-revoked', op: 'verifyManifest', description: "bob's token is revoked on the receiver", input: { manifest: good, chain: f.bobChain, ...ctx({ revoked: [[tokenId(f.bob), 'laptop lost']] }) }, expect: { ok: false, code: 'E_MANIFEST_CHAIN', chain_code: 'E_REVOKED' } },
    { name: 'chain-expired', op: 'verifyManifest', description: "bob's 30-day token has expired", input: { manifest: good, chain: f.bobChain, ...ctx({ now: T0 + 31 * 86_400 }) }, expect: { ok: false, code: 'E_MANIFEST_CHAIN', chain_code: 'E_EXPIRED' } },
    { name: 'chain-undecodable', op: 'verifyManifest', description: 'X-Vigo-Chain is not base64url', input: { manifest: good, chain: '***', ...ctx() }, expect: { ok: false, code: 'E_MANIFEST_CHAIN', chain_code: 'E_MALFORMED' } },
    { name: 'forged-refs', op: 'verifyManifest', description: 'refs changed after signing (a forged manifest)', input: { manifest: { ...good, refs: [{ ref: 'refs/heads/main', old: oid('c1'), new: oid('evil') }, refs[1]] }, chain: f.bobChain, ...ctx() }, expect: { ok: false, code: 'E_MANIFEST_SIGNATURE' } },
    { name: 'forged-seq', op: 'verifyManifest', description: 'seq raised after signing, to pass a replay check', input: { manifest: { ...good, seq: 8 }, chain: f.bobChain, ...ctx() }, expect: { ok: false, code: 'E_MANIFEST_SIGNATURE' } },
    { name: 'forged-scope', op: 'verifyManifest', description: 'scope changed by a relay', input: { manifest: { ...good, scope: 'members-only' }, chain: f.bobChain, ...ctx() }, expect: { ok: false, code: 'E_MANIFEST_SIGNATURE' } },
    { name: 'parse-valid', op: 'parseManifest', description: 'the canonical text parses', input: { text: manifestText(good) }, expect: { ok: true, id: manifestId(good) } },
    { name: 'parse-non-canonical', op: 'parseManifest', description: 'the same manifest with whitespace', input: { text: JSON.stringify(good, null, 1) }, expect: { ok: false, code: 'E_MANIFEST_NON_CANONICAL' } },
    { name: 'parse-oversize', op: 'parseManifest', description: 'more than 256 KiB', input: { text: { prefix: '{"a":"', repeat: 'x', times: 262_144, suffix: '"}' } }, expect: { ok: false, code: 'E_MANIFEST_OVERSIZE' } },
    { name: 'parse-not-json', op: 'parseManifest', description: 'not JSON at all', input: { text: 'GITBACK' }, expect: { ok: false, code: 'E_MANIFEST_MALFORMED' } },
    { name: 'bundle-refs-match', op: 'checkBundleRefs', description: 'the bundle carries exactly the new tips', input: { manifests: [good], bundle_refs: { 'refs/heads/main': oid('c2'), 'refs/tags/v1.0': oid('c2') } }, expect: { ok: true } },
    { name: 'bundle-refs-differ', op: 'checkBundleRefs', description: 'the bundle moves main elsewhere than the manifest', input: { manifests: [good], bundle_refs: { 'refs/heads/main': oid('evil'), 'refs/tags/v1.0': oid('c2') } }, expect: { ok: false, code: 'E_MANIFEST_BUNDLE_REFS' } },
    { name: 'bundle-refs-extra', op: 'checkBundleRefs', description: 'the bundle carries a ref no manifest names', input: { manifests: [good], bundle_refs: { 'refs/heads/main': oid('c2'), 'refs/tags/v1.0': oid('c2'), 'refs/heads/evil': oid('evil') } }, expect: { ok: false, code: 'E_MANIFEST_BUNDLE_REFS' } },
    { name: 'bundle-refs-missing', op: 'checkBundleRefs', description: 'the bundle lacks a tip the manifest names', input: { manifests: [good], bundle_refs: { 'refs/heads/main': oid('c2') } }, expect: { ok: false, code: 'E_MANIFEST_BUNDLE_REFS' } },
  ];
  return {
    domain_tag_hex: toHex(Buffer.from(domainTag('gitback-manifest'), 'utf8')),
    example: { manifest: good, canonical: canonicalize(Object.fromEntries(Object.entries(good).filter(([k]) => k !== 'sig'))), signing_message_hex: toHex(manifestSigningMessage(good)), id: manifestId(good), signer_seed_of: 'bob' },
    fixtures,
  };
}

type Expect = ManifestFixture['expect'];

export function runManifestFixture(fx: ManifestFixture): Expect {
  const i = fx.input;
  if (fx.op === 'parseManifest') {
    const t = i.text as string | { prefix: string; repeat: string; times: number; suffix: string };
    const text = typeof t === 'string' ? t : t.prefix + t.repeat.repeat(t.times) + t.suffix;
    try {
      return { ok: true, id: manifestId(parseManifest(text)) };
    } catch (e) {
      return { ok: false, code: (e as { code: string }).code };
    }
  }
  if (fx.op === 'checkBundleRefs') {
    const r = checkBundleRefs(i.manifests as Manifest[], i.bundle_refs as Record<string, string>);
    return r.ok ? { ok: true } : { ok: false, code: r.code };
  }
  const v = verifyManifest(i.manifest, i.chain as string, {
    projectId: i.project_id as string,
    now: i.now as number,
    bundleSha256: i.bundle_sha256 as string | null,
    revocations: { revoked: new Map(i.revoked as Array<[string, string | null]>) },
  });
  if (v.ok) return { ok: true, id: v.id };
  return v.chainCode === undefined ? { ok: false, code: v.code } : { ok: false, code: v.code, chain_code: v.chainCode };
}

export { pk, vectorDir };

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = vectorDir();
  writeFileSync(join(dir, ANNOUNCE_FILE), serialize(buildAnnounceVectors()));
  writeFileSync(join(dir, MANIFEST_FILE), serialize(await buildManifestVectors()));
  console.log(`wrote ${ANNOUNCE_FILE} and ${MANIFEST_FILE} to ${dir}`);
}
