/**
 * Envoy identities for the swarm transport tests, made by the tree's real PKI code the way
 * enrollment makes them: a fleet CA (createCa), an Ed25519 key and CSR per envoy
 * (createEnvoyCsr), signed with a fresh envoy id as CN (signEnvoyCsr).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, createServerCert, signEnvoyCsr, type PemPair } from '../../src/server/index.js';
import { createEnvoyCsr } from '../../src/wire/enroll.js';
import type { SwarmIdentity } from '../../src/swarm/transport.js';

export interface TestEnvoy {
  id: string;
  identity: SwarmIdentity;
}

export class TestFleet {
  private constructor(readonly ca: PemPair) {}

  static async create(name = 'vigo fleet'): Promise<TestFleet> {
    return new TestFleet(await createCa(name));
  }

  async envoy(hostname = 'envoy'): Promise<TestEnvoy> {
    const id = randomUUID();
    const { csr, key } = await createEnvoyCsr(hostname);
    const signed = await signEnvoyCsr(this.ca, csr, id);
    return { id, identity: { cert: signed.cert, key, ca: this.ca.cert } };
  }

  /** The fleet's vigosrv certificate (serverAuth only), as an identity a peer might misuse. */
  async serverIdentity(): Promise<SwarmIdentity> {
    const s = await createServerCert(this.ca, ['vigosrv', '127.0.0.1']);
    return { cert: s.cert, key: s.key, ca: this.ca.cert };
  }
}

/** Write an identity as /etc/vigo-envoy holds it (envoy.key 0600) into a fresh directory. */
export function writeIdentityDir(e: TestEnvoy, parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, 'vigo-swarm-id-'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'envoy.crt'), e.identity.cert, { mode: 0o644 });
  writeFileSync(join(dir, 'envoy.key'), e.identity.key, { mode: 0o600 });
  writeFileSync(join(dir, 'ca.crt'), e.identity.ca, { mode: 0o644 });
  return dir;
}
