/**
 * The envoy's enrolled identity under /etc/vigo-envoy/: identity.json (id, hostname,
 * server, gRPC address), envoy.key (Ed25519, 0600), envoy.crt (signed by the server CA),
 * ca.crt (the server CA it pinned at enrollment).
 */
import { existsSync, readFileSync } from 'node:fs';
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
