/**
 * The envoy's enrolled identity under /etc/vigo-envoy/: identity.json (id, hostname,
 * server, gRPC address), envoy.key (Ed25519, 0600), envoy.crt (signed by the server CA),
 * ca.crt (the server CA it pinned at enrollment; in a spanner, the CA of every live bolt,
 * as enrollment answered and check-ins update it).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createHash, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { paths, type Env } from '../../platform/paths.js';
import { VigoError } from '../../platform/errors.js';

export interface EnvoyIdentity {
  envoy_id: string;
  hostname: string;
  server: string;
  grpc_addr: string;
  interval_s: number;
  enrolled_at: string;
  /** the bolt that owns this envoy (spanner; updated when it is moved) */
  bolt_id?: string;
  moved_at?: string;
}

export interface IdentityFiles {
  dir: string;
  identity: string;
  key: string;
  cert: string;
  ca: string;
}

export function identityFiles(env: Env): IdentityFiles {
  const dir = paths.etcEnvoy(env);
  return { dir, identity: join(dir, 'identity.json'), key: join(dir, 'envoy.key'), cert: join(dir, 'envoy.crt'), ca: join(dir, 'ca.crt') };
}

/**
 * The CA bundle an envoy stores as ca.crt (one or more PEM certificates), checked before it
 * is written: every block must parse as a CA certificate. `what` names its source.
 */
export function checkCaBundle(bundle: string, what: string): string {
  const blocks = bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0 || blocks.length > 256) throw new VigoError('E_TRUST', `${what}: expected 1 to 256 PEM certificates, got ${blocks.length}`);
  for (const b of blocks) {
    let c: X509Certificate;
    try {
      c = new X509Certificate(b);
    } catch (e) {
      throw new VigoError('E_TRUST', `${what}: a certificate does not parse (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!c.ca) throw new VigoError('E_TRUST', `${what}: ${c.subject.replace(/\n/g, ', ')} is not a CA certificate`);
  }
  return `${blocks.join('\n')}\n`;
}

/** SHA-256 of the CA bundle text, as the envoy tells its bolt at check-in. */
export function caBundleSha256(bundle: string): string {
  return createHash('sha256').update(bundle).digest('hex');
}

export function isEnrolled(env: Env): boolean {
  return existsSync(identityFiles(env).identity);
}

export function readIdentity(env: Env): { id: EnvoyIdentity; key: string; cert: string; ca: string } {
  const f = identityFiles(env);
  if (!existsSync(f.identity)) throw new VigoError('E_NOT_ENROLLED', `this envoy is not enrolled (no ${f.identity})`, { hint: 'vigo agent enroll --server https://HOST:8443 --token-file FILE' });
  let id: EnvoyIdentity;
  try {
    id = JSON.parse(readFileSync(f.identity, 'utf8')) as EnvoyIdentity;
  } catch (e) {
    throw new VigoError('E_IDENTITY', `${f.identity}: ${e instanceof Error ? e.message : String(e)}`, { hint: 'enroll again with --force' });
  }
  for (const k of ['envoy_id', 'hostname', 'server', 'grpc_addr'] as const) {
    if (typeof id[k] !== 'string' || id[k] === '') throw new VigoError('E_IDENTITY', `${f.identity}: field ${k} missing`, { hint: 'enroll again with --force' });
  }
  return { id, key: readFileSync(f.key, 'utf8'), cert: readFileSync(f.cert, 'utf8'), ca: readFileSync(f.ca, 'utf8') };
}
