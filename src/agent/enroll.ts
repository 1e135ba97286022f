/**
 * `vigo agent enroll`: make an Ed25519 key, present the one-time token with a CSR, and
 * store the UUID, the CA-signed client certificate and the pinned CA under
 * /etc/vigo-envoy/. The token carries the CA fingerprint's first 128 bits; the CA the
 * server presents must match it before anything is sent, so a token cannot be phished by
 * a server that is not the one that minted it. In a spanner the bolt routes the enrollment
 * to the bolt that owns the hostname; the answer names that bolt, its check-in address and
 * the CA bundle of every live bolt, which becomes ca.crt.
 *
 * The token is a one-time secret: it is read from a file, stdin or VIGO_ENROLL_TOKEN
 * (`resolveEnrollToken`), because argv is world-readable in /proc/<pid>/cmdline and a local
 * user polling it would enroll first. It never reaches a log line or an error message.
 */
import { hostname as osHostname } from 'node:os';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic, writeJsonAtomic } from '../platform/atomic.js';
import { VigoError } from '../platform/errors.js';
import type { Env } from '../platform/paths.js';
import { createEnvoyCsr, enrollTokenCaPrefix } from '../wire/enroll.js';
import { api, fetchServerCa, parseServerUrl } from '../wire/rest-client.js';
import { checkCaBundle, identityFiles, isEnrolled, type EnvoyIdentity } from './checkin/identity.js';

export interface EnrollOptions {
  server: string;
  token: string;
  hostname?: string;
  force?: boolean;
  env: Env;
}

const MAX_TOKEN_FILE_BYTES = 4096;

export interface TokenSources {
  /** `--token` (discouraged: visible to every local user while the command runs) */
  token?: string;
  /** `--token-file F`; `-` = stdin */
  tokenFile?: string;
}

export interface TokenIo {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; fd?: number };
  warn: (msg: string) => void;
}

function readAll(stream: NodeJS.ReadableStream, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => {
      text += d;
      if (text.length > MAX_TOKEN_FILE_BYTES) reject(new VigoError('E_ENROLL_TOKEN', `${what} holds more than ${MAX_TOKEN_FILE_BYTES} bytes; it should hold one vget_… token`));
    });
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

/**
 * Where the enrollment token comes from, first that applies: `--token-file F` (`-` reads
 * stdin), `$VIGO_ENROLL_TOKEN`, `--token` (with a warning), stdin when it is not a
 * terminal. Giving it two ways is refused; giving it none says how to.
 */
export async function resolveEnrollToken(o: TokenSources, io: TokenIo): Promise<string> {
  const fromEnv = io.env.VIGO_ENROLL_TOKEN;
  const given = [o.tokenFile !== undefined, fromEnv !== undefined && fromEnv !== '', o.token !== undefined].filter(Boolean).length;
  if (given > 1) throw new VigoError('E_USAGE', 'the enrollment token was given more than one way (--token-file, VIGO_ENROLL_TOKEN, --token)', { hint: 'give it exactly one way; --token-file is the safe one' });
  let text: string;
  if (o.tokenFile !== undefined && o.tokenFile !== '-') {
    let st;
    try {
      st = statSync(o.tokenFile);
    } catch (e) {
      throw new VigoError('E_ENROLL_TOKEN', `--token-file ${o.tokenFile}: ${e instanceof Error ? e.message : String(e)}`, { hint: 'write the token from `vigocli enroll token create` into that file' });
    }
    if (!st.isFile()) throw new VigoError('E_ENROLL_TOKEN', `--token-file ${o.tokenFile}: not a regular file`);
    if (st.size > MAX_TOKEN_FILE_BYTES) throw new VigoError('E_ENROLL_TOKEN', `--token-file ${o.tokenFile} holds more than ${MAX_TOKEN_FILE_BYTES} bytes; it should hold one vget_… token`);
    if ((st.mode & 0o077) !== 0) io.warn(`warning: ${o.tokenFile} is readable by other users (mode ${(st.mode & 0o777).toString(8)}); keep enrollment tokens 0600`);
    text = readFileSync(o.tokenFile, 'utf8');
  } else if (o.tokenFile === '-') {
    text = await readAll(io.stdin, 'stdin');
  } else if (fromEnv !== undefined && fromEnv !== '') {
    text = fromEnv;
  } else if (o.token !== undefined) {
    io.warn('warning: --token puts the enrollment token on the command line, where every local user can read it (/proc/*/cmdline) while this runs; use --token-file FILE, --token-file - (stdin) or VIGO_ENROLL_TOKEN');
    text = o.token;
  } else if (!io.stdin.isTTY) {
    text = await readAll(io.stdin, 'stdin');
  } else {
    throw new VigoError('E_USAGE', 'no enrollment token given', { hint: 'vigo agent enroll --server URL --token-file FILE (or pipe the token in with --token-file -, or set VIGO_ENROLL_TOKEN)' });
  }
  const token = text.trim();
  if (token === '') throw new VigoError('E_ENROLL_TOKEN', 'the enrollment token is empty', { hint: 'mint one on the server: vigocli enroll token create' });
  return token;
}

export async function enrollEnvoy(o: EnrollOptions): Promise<EnvoyIdentity> {
  const env = o.env;
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
  // ca_bundle, bolt_id and server: a bolt of a spanner (the owning bolt's answer, relayed)
  type Enrolled = { envoy_id: string; hostname: string; cert: string; ca: string; grpc_addr: string; interval_s: number; ca_bundle?: string; bolt_id?: string; server?: string };
  let r: Enrolled;
  try {
    r = await api<Enrolled>({ server: url.origin, ca: ca.pem }, 'POST', '/api/v1/enroll', { token: o.token, hostname, csr });
  } catch (e) {
    if (e instanceof VigoError && e.code === 'E_HTTP_403') {
      throw new VigoError('E_ENROLL_HOSTNAME', `enrollment refused: ${e.message.replace(/^POST \/api\/v1\/enroll: /, '').replace(/; enroll with --hostname.*$/, '')}`, {
        hint: 'pass --hostname with the name the token was minted for (vigocli enroll token create --hostname H); the token was not used up',
      });
    }
    if (e instanceof VigoError && e.code === 'E_HTTP_401') {
      throw new VigoError('E_ENROLL_TOKEN', `enrollment refused: ${e.message.replace(/^POST \/api\/v1\/enroll: /, '').replace(/; ask an operator.*$/, '')}`, {
        hint: 'ask an operator for a fresh token: vigocli enroll token create',
      });
    }
    throw e;
  }
  // the bundle came over the channel pinned to the token's CA; only CA certificates are taken
  const bundle = typeof r.ca_bundle === 'string' && r.ca_bundle !== '' ? checkCaBundle(r.ca_bundle, `${url.origin}'s ca_bundle`) : ca.pem;
  const f = identityFiles(env);
  mkdirSync(f.dir, { recursive: true, mode: 0o755 });
  writeFileAtomic(f.key, key, { mode: 0o600 });
  writeFileAtomic(f.cert, r.cert, { mode: 0o644 });
  writeFileAtomic(f.ca, bundle, { mode: 0o644 });
  const server = typeof r.server === 'string' && /^https:\/\/[^/\s]+$/.test(r.server) ? r.server : url.origin;
  const id: EnvoyIdentity = { envoy_id: r.envoy_id, hostname: r.hostname, server, grpc_addr: r.grpc_addr, interval_s: r.interval_s, enrolled_at: new Date().toISOString(), ...(r.bolt_id ? { bolt_id: r.bolt_id } : {}) };
  writeJsonAtomic(f.identity, id, { mode: 0o644 });
  return id;
}
