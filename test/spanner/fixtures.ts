// Shared pieces of the spanner tests: named keys (seeds sha256("vigo-vectors/<name>"), as in
// test/vectors), a real envoy CA certificate, and a small world of signed rows.
import { createHash } from 'node:crypto';
import { pubkeyHex, seedSigner, type Signer } from '../../src/trust/index.js';
import { SIM_CA_PEM } from '../../src/spanner/sim-ca.js';
import { signAdmit, signInviteConsumed, signRevoke, type AdmitRow, type InviteConsumedRow, type RevokeRow, type RosterContext } from '../../src/spanner/index.js';

export const SPANNER_ID = 'acme-prod';
export const T0 = 1_764_000_000; // 2025-11-24T16:00:00Z, as in the trust vectors

/** A real self-signed Ed25519 CA (CN=vigo envoy CA bolt-a, made with openssl): the one the simulator uses. */
export const CA_PEM = SIM_CA_PEM;

/** A real certificate that is not a CA (basicConstraints CA:FALSE). */
export const NOT_CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBUjCCAQSgAwIBAgIUYELsNb2YWX4g/Sq1ykhuyD9DzZowBQYDK2VwMB8xHTAb
BgNVBAMMFGVudm95LTE3LmV4YW1wbGUubmV0MCAXDTI2MTIwMTIzMDQ0M1oYDzIx
MjYxMTA3MjMwNDQzWjAfMR0wGwYDVQQDDBRlbnZveS0xNy5leGFtcGxlLm5ldDAq
MAUGAytlcAMhAB+cenGIRn4sTaUfEvasP1A68h0MIC5EhMu54e2aMsJQo1AwTjAd
BgNVHQ4EFgQUn0CpG73S05RmU7OuY7BRzVFUsBAwHwYDVR0jBBgwFoAUn0CpG73S
05RmU7OuY7BRzVFUsBAwDAYDVR0TAQH/BAIwADAFBgMrZXADQQDuG3ds+BHaEFfw
oXkf1HL0Z2qC3zEYRdfQqurUNK8bT1qXBBaObBMgTEtIVkk2XeVG89InR9peY82C
x9oiDvoA
-----END CERTIFICATE-----
`;

export function seedOf(name: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`vigo-vectors/${name}`).digest());
}

const signers = new Map<string, Signer>();
export function key(name: string): Signer {
  let s = signers.get(name);
  if (s === undefined) signers.set(name, (s = seedSigner(seedOf(name))));
  return s;
}
export const pk = (name: string): string => pubkeyHex(key(name).publicKey);

export const ctxOf = (founder = 'bolt-a', spannerId = SPANNER_ID): RosterContext => ({ spannerId, founder: pk(founder) });

/** `by` admits bolt `name` (its key is key(name)) at `at`; `by === name` is a self-admit. */
export function admit(by: string, name: string, at: number, over: { bolt_id?: string; spanner_id?: string; key?: string } = {}): Promise<AdmitRow> {
  return signAdmit(key(by), {
    spanner_id: over.spanner_id ?? SPANNER_ID,
    bolt_id: over.bolt_id ?? name,
    pubkey: pk(over.key ?? name),
    hostname: `${name}.example.net`,
    peer_addr: `${name}.example.net:8444`,
    patterns: [`*.${name}.example.net`],
    envoy_ca_pem: CA_PEM,
    admitted_at: at,
  });
}

export function revoke(by: string, name: string, at: number, reason = 'decommissioned'): Promise<RevokeRow> {
  return signRevoke(key(by), { spanner_id: SPANNER_ID, pubkey: pk(name), revoked_at: at, reason });
}

export const tokenHash = (label: string): string => createHash('sha256').update(`invite/${label}`).digest('hex');

export function consume(by: string, label: string, at: number): Promise<InviteConsumedRow> {
  return signInviteConsumed(key(by), { spanner_id: SPANNER_ID, token_hash: tokenHash(label), consumed_at: at });
}
