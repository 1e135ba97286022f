/**
 * `vigo agent enroll`: make an Ed25519 key, present the one-time token with a CSR, and
 * store the UUID, the CA-signed client certificate and the pinned CA under
 * /etc/vigo-envoy/. The token carries the CA fingerprint's first 128 bits; the CA the
 * server presents must match it before anything is sent, so a token cannot be phished by
 * a server that is not the one that minted it.
 */
import { hostname as osHostname } from 'node:os';
import { mkdirSync } from 'node:fs';
import { writeFileAtomic, writeJsonAtomic } from '../platform/atomic.js';
import { VigoError } from '../platform/errors.js';
import type { Env } from '../platform/paths.js';
import { createEnvoyCsr } from '../server/pki.js';
import { api, fetchServerCa, parseServerUrl } from '../server/client/https.js';
import { enrollTokenCaPrefix } from '../server/tokens.js';
import { identityFiles, isEnrolled, type EnvoyIdentity } from './checkin/identity.js';

export interface EnrollOptions {
  server: string;
  token: string;
  hostname?: string;
  force?: boolean;
  env?: Env;
}

export async function enrollEnvoy(o: EnrollOptions): Promise<EnvoyIdentity> {
  const env = o.env ?? process.env;
  if (isEnrolled(env) && !o.force) {
    throw new VigoError('E_ALREADY_ENROLLED', `this envoy is already enrolled (${identityFiles(env).identity})`, { hint: 'pass --force to enroll again with a new identity' });
  }
  const url = parseServerUrl(o.server);
  const prefix = enrollTokenCaPrefix(o.token);
  if (!prefix) throw new VigoError('E_ENROLL_TOKEN', 'that is not an enrollment token (expected vget_…)', { hint: 'mint one on the server: vigocli enroll token create' });
  const ca = await fetchServerCa(url.origin);
  if (!ca.fingerprint.startsWith(prefix)) {
    throw new VigoError('E_CA_MISMATCH', `${url.origin} presents CA sha256 ${ca.fingerprint}, which is not the CA this token was minted under`, { hint: 'check the --server URL; the token belongs to another server' });
  }
  const hostname = o.hostname ?? osHostname();
  const { csr, key } = await createEnvoyCsr(hostname);
  type Enrolled = { envoy_id: string; hostname: string; cert: string; ca: string; grpc_addr: string; interval_s: number };
  let r: Enrolled;
  try {
    r = await api<Enrolled>({ server: url.origin, ca: ca.pem }, 'POST', '/api/v1/enroll', { token: o.token, hostname, csr });
  } catch (e) {
    if (e instanceof VigoError && e.code === 'E_HTTP_401') {
      throw new VigoError('E_ENROLL_TOKEN', `enrollment refused: ${e.message.replace(/^POST \/api\/v1\/enroll: /, '').replace(/; ask an operator.*$/, '')}`, {
        hint: 'ask an operator for a fresh token: vigocli enroll token create',
      });
    }
    throw e;
  }
  const f = identityFiles(env);
  mkdirSync(f.dir, { recursive: true, mode: 0o755 });
  writeFileAtomic(f.key, key, { mode: 0o600 });
  writeFileAtomic(f.cert, r.cert, { mode: 0o644 });
  writeFileAtomic(f.ca, ca.pem, { mode: 0o644 });
  const id: EnvoyIdentity = { envoy_id: r.envoy_id, hostname: r.hostname, server: url.origin, grpc_addr: r.grpc_addr, interval_s: r.interval_s, enrolled_at: new Date().toISOString() };
  writeJsonAtomic(f.identity, id, { mode: 0o644 });
  return id;
}
