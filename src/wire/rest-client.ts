/**
 * A small JSON-over-HTTPS client for the REST API (vigocli, `vigo agent enroll`, tests).
 * It trusts exactly the given CA. `fetchServerCa` is the first-contact step: it reads the
 * CA the server presents in its chain (without trusting it yet) so the caller can compare
 * its fingerprint with one it got out of band (the enrollment token carries it).
 */
import { request } from 'node:https';
import { connect, checkServerIdentity, type PeerCertificate, type DetailedPeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { VigoError } from '../platform/errors.js';

/** A `--server` flag: an https:// URL, or a clear refusal. */
export function parseServerUrl(s: string, flag = '--server'): URL {
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    throw new VigoError('E_BAD_URL', `${flag}: '${s}' is not a URL`, { hint: 'e.g. https://vigo.example.com:8443' });
  }
  if (url.protocol !== 'https:') throw new VigoError('E_BAD_URL', `${flag} must be an https:// URL`);
  return url;
}

export interface ApiTarget {
  server: string; // https://host:port
  ca: string; // PEM
  token?: string;
  /** extra request headers (bolt-to-bolt calls carry their signature in them) */
  headers?: Record<string, string>;
  /** an answer larger than this is cut off with an error (bolt-to-bolt forwarding bounds what it relays) */
  maxResponseBytes?: number;
  /** the whole exchange gives up after this long (`timeoutMs` alone bounds only idle time) */
  deadlineMs?: number;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  headers?: Record<string, string | string[] | undefined>;
}

function hintFor(status: number): string | undefined {
  if (status === 401) return 'log in again: vigocli auth login --server URL --token vgot_…';
  if (status === 403) return 'this needs an admin token';
  if (status === 413) return 'send less (server.body_limit_bytes caps request bodies)';
  return undefined;
}

/** One request; resolves for every HTTP status (callers decide), rejects on transport errors. */
export function apiRaw<T = unknown>(t: ApiTarget, method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<ApiResponse<T>> {
  const url = new URL(path, t.server);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  const ipHost = /^[0-9.]+$|^\[/.test(url.hostname);
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const req = request(
      url,
      {
        method,
        ca: t.ca,
        servername: ipHost ? 'vigosrv' : url.hostname,
        checkServerIdentity: (host, cert) => checkServerIdentity(ipHost ? 'vigosrv' : host, cert),
        headers: {
          accept: 'application/json',
          ...t.headers,
          ...(t.token ? { authorization: `Bearer ${t.token}` } : {}),
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (t.maxResponseBytes !== undefined && size > t.maxResponseBytes) return void req.destroy(new Error(`the answer is over ${t.maxResponseBytes} bytes`));
          chunks.push(c);
        });
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          if ((res.headers['content-type'] ?? '').includes('json')) {
            try {
              parsed = JSON.parse(text);
            } catch {
              parsed = { message: text };
            }
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as T, headers: res.headers });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${t.server} within ${timeoutMs} ms`)));
    if (t.deadlineMs !== undefined) timer = setTimeout(() => req.destroy(new Error(`no whole answer from ${t.server} within ${t.deadlineMs} ms`)), t.deadlineMs);
    req.on('error', (e) => (clearTimeout(timer), reject(new VigoError('E_SERVER_UNREACHABLE', `cannot reach ${t.server}: ${e.message}`, { hint: 'is vigosrv running, and is the URL right?' }))));
    if (payload) req.write(payload);
    req.end();
  });
}

/** A request that must succeed; a non-2xx answer becomes a VigoError carrying the server's message. */
export async function api<T = unknown>(t: ApiTarget, method: string, path: string, body?: unknown): Promise<T> {
  return checked(method, path, await apiRaw<T>(t, method, path, body)).body;
}

/** The answer when it is 2xx; else a VigoError carrying the server's message. */
export function checked<T>(method: string, path: string, r: ApiResponse<T>): ApiResponse<T> {
  if (r.status < 200 || r.status >= 300) {
    const msg = typeof r.body === 'object' && r.body !== null && 'message' in r.body ? String((r.body as { message: unknown }).message) : `HTTP ${r.status}`;
    const hint = hintFor(r.status);
    throw new VigoError(`E_HTTP_${r.status}`, `${method} ${path}: ${msg}`, hint ? { hint } : {});
  }
  return r;
}

function toPem(c: PeerCertificate): string {
  return `-----BEGIN CERTIFICATE-----\n${c.raw.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

/** The self-signed root at the end of the chain the server presents (not yet trusted). */
export function fetchServerCa(server: string, timeoutMs = 10_000): Promise<{ pem: string; fingerprint: string }> {
  const url = new URL(server);
  const port = Number(url.port || 443);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port, rejectUnauthorized: false, servername: /^[0-9.:]+$/.test(host) ? 'vigosrv' : host, timeout: timeoutMs }, () => {
      let c = sock.getPeerCertificate(true) as DetailedPeerCertificate;
      const seen = new Set<string>();
      while (c.issuerCertificate && c.issuerCertificate !== c && !seen.has(c.fingerprint256)) {
        seen.add(c.fingerprint256);
        c = c.issuerCertificate;
      }
      sock.end();
      const pem = toPem(c);
      const x = new X509Certificate(pem);
      if (!x.ca || !x.verify(x.publicKey)) return reject(new VigoError('E_NO_CA', `${server} did not present a self-signed CA in its chain`));
      resolve({ pem, fingerprint: x.fingerprint256.replace(/:/g, '').toLowerCase() });
    });
    sock.on('timeout', () => sock.destroy(new Error('timeout')));
    sock.on('error', (e) => reject(new VigoError('E_SERVER_UNREACHABLE', `cannot reach ${server}: ${e.message}`, { hint: 'is vigosrv running, and is the URL right?' })));
  });
}
