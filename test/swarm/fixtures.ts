// A project with real keys and real signed chains, the same every run: founder → alice
// (admin) → bob (member, 30 days), plus a project of another founder. Seeds follow the
// trust vectors (sha256("vigo-vectors/<name>")), nonces are fixed, so Ed25519 signatures
// and therefore the manifest vectors are byte for byte reproducible.
import { createHash } from 'node:crypto';
import {
  encodePushChainHeader,
  mintBootstrapToken,
  mintChildToken,
  seedSigner,
  toHex,
  type Hex,
  type Signer,
  type Token,
} from '../../src/trust/index.js';
import { signManifest, type Manifest, type RefUpdate, type UnsignedManifest } from '../../src/swarm/index.js';

export const T0 = 1_764_000_000;
export const NOW = T0 + 86_400;
export const HANDLE = 'vigo-web';
export const ENVOY_A = '0f6b3a52-9d1c-4e2a-8b7f-3c5d2e1a0b9c';
export const ENVOY_B = '7a1e9c40-2b3d-4f5e-9a8b-1c2d3e4f5a6b';

export function seedOf(name: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`vigo-vectors/${name}`).digest());
}
export function signer(name: string): Signer {
  return seedSigner(seedOf(name));
}
export const pk = (name: string): Hex => toHex(signer(name).publicKey);
const nonce = (label: string): Hex => createHash('sha256').update(`nonce/${label}`).digest('hex').slice(0, 32);
export const oid = (label: string): string => createHash('sha1').update(label).digest('hex');
export const sha = (label: string): Hex => createHash('sha256').update(label).digest('hex');

export interface ProjectFixture {
  pid: Hex;
  root: Token;
  alice: Token;
  bob: Token;
  /** X-Vigo-Chain values */
  aliceChain: string;
  bobChain: string;
  otherPid: Hex;
  /** alice's admin chain in the other founder's project */
  otherAliceChain: string;
}

let cached: Promise<ProjectFixture> | undefined;

export function projectFixture(): Promise<ProjectFixture> {
  cached ??= (async () => {
    const root = await mintBootstrapToken(signer('founder'), HANDLE, T0, { nonce: nonce('root') });
    const alice = await mintChildToken(signer('founder'), [root], signer('alice').publicKey, 'admin', T0 + 60, null, { nonce: nonce('alice') });
    const bob = await mintChildToken(signer('alice'), [root, alice], signer('bob').publicKey, 'member', T0 + 120, T0 + 30 * 86_400, { nonce: nonce('bob') });
    const rootO = await mintBootstrapToken(signer('other'), HANDLE, T0, { nonce: nonce('other-root') });
    const aliceO = await mintChildToken(signer('other'), [rootO], signer('alice').publicKey, 'admin', T0 + 60, null, { nonce: nonce('other-alice') });
    return {
      pid: root.project_id,
      root,
      alice,
      bob,
      aliceChain: encodePushChainHeader([root, alice], []),
      bobChain: encodePushChainHeader([root, alice, bob], []),
      otherPid: rootO.project_id,
      otherAliceChain: encodePushChainHeader([rootO, aliceO], []),
    };
  })();
  return cached;
}

export function body(pid: Hex, pusher: string, seq: number, refs: RefUpdate[], o: Partial<UnsignedManifest> = {}): UnsignedManifest {
  return { v: 1, kind: 'gitback-manifest', project_id: pid, envoy: ENVOY_A, pusher: pk(pusher), seq, scope: 'swarm-wide', bundle_sha256: sha(`bundle/${seq}`), refs, ...o };
}

export function sign(pid: Hex, pusher: string, seq: number, refs: RefUpdate[], o: Partial<UnsignedManifest> = {}): Promise<Manifest> {
  return signManifest(body(pid, pusher, seq, refs, o), signer(pusher));
}
