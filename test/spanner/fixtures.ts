// Shared pieces of the spanner tests: named keys (seeds sha256("vigo-vectors/<name>"), as in
// test/vectors), a real envoy CA certificate, and a small world of signed rows.
import { createHash } from 'node:crypto';
import { pubkeyHex, seedSigner, type Signer } from '../../src/trust/index.js';
import { signAdmit, signInviteConsumed, signRevoke, type AdmitRow, type InviteConsumedRow, type RevokeRow, type RosterContext } from '../../src/spanner/index.js';

export const SPANNER_ID = 'acme-prod';
export const T0 = 1_764_000_000; // 2025-11-24T16:00:00Z, as in the trust vectors

/** A self-signed Ed25519 CA (CN=vigo envoy CA bolt-a), made once with openssl for the fixtures. */
export const CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBZTCCARegAwIBAgIUdihtym49SuZycktAhAif5n3kEOUwBQYDK2VwMB8xHTAb
BgNVBAMMFHZpZ28gZW52b3kgQ0EgYm9sdC1hMCAXDTI2MTIwMTIyNDQwMloYDzIx
MjYxMTA3MjI0NDAyWjAfMR0wGwYDVQQDDBR2aWdvIGVudm95IENBIGJvbHQtYTAq
MAUGAytlcAMhAD//b5/8xWA6XkyQQOgLrNt1inXnZ0njJg7517Iag2Imo2MwYTAd
BgNVHQ4EFgQUY7OTqAcUquGFF3uVj/tTjebNkR0wHwYDVR0jBBgwFoAUY7OTqAcU
quGFF3uVj/tTjebNkR0wDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYw
BQYDK2VwA0EABXHL6kfIm/huyZbDD88h7RsXXgIFecx5JECHR9VGLxN40t3Fw5Xx
Gi1X0gCNPELZu+XIOWHmhdnEEa4KXlOfCg==
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
