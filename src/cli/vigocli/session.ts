/**
 * Which server vigocli talks to, and as whom. In order: $VIGO_SERVER + $VIGO_TOKEN
 * (+ $VIGO_CA_FILE); the login saved by `vigocli auth login` (~/.vigocli/auth.json, 0600);
 * the local-admin token vigosrv writes at boot on this host (root-only), so an operator on
 * the server needs no login.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { homeDir, paths } from '../../platform/paths.js';
import { writeJsonAtomic } from '../../platform/atomic.js';
import { VigoError } from '../../platform/errors.js';
import { api, type ApiTarget } from '../../wire/rest-client.js';

export interface SavedLogin {
  server: string;
  token: string;
  ca: string;
  ca_fingerprint: string;
}

export function loginFile(): string {
  return join(homeDir(process.env), '.vigocli', 'auth.json');
}

export function localAdminPath(): string {
  return join(paths.srv(process.env), 'local-admin.json');
}

export function saveLogin(l: SavedLogin): void {
  writeJsonAtomic(loginFile(), l, { mode: 0o600, mkdirMode: 0o700 });
}

export function removeLogin(): boolean {
  const f = loginFile();
  if (!existsSync(f)) return false;
  rmSync(f);
  return true;
}

export type Source = 'env' | 'login' | 'local-admin';

export function resolveTarget(): ApiTarget & { source: Source } {
  const env = process.env;
  if (env.VIGO_SERVER && env.VIGO_TOKEN) {
    const caFile = env.VIGO_CA_FILE;
    if (!caFile) throw new VigoError('E_NO_CA', 'VIGO_SERVER is set but VIGO_CA_FILE is not', { hint: 'point VIGO_CA_FILE at the server CA (srv/vigo/tls/ca.crt)' });
    return { server: env.VIGO_SERVER, token: env.VIGO_TOKEN, ca: readFileSync(caFile, 'utf8'), source: 'env' };
  }
  const lf = loginFile();
  if (existsSync(lf)) {
    const l = JSON.parse(readFileSync(lf, 'utf8')) as SavedLogin;
    return { server: l.server, token: l.token, ca: l.ca, source: 'login' };
  }
  const la = localAdminPath();
  if (existsSync(la)) {
    let doc: { server: string; token: string; ca_file: string };
    try {
      doc = JSON.parse(readFileSync(la, 'utf8')) as typeof doc;
    } catch (e) {
      throw new VigoError('E_NO_LOGIN', `cannot read the local-admin token ${la}: ${e instanceof Error ? e.message : String(e)}`, { hint: 'run vigocli as root on the server host, or `vigocli auth login`' });
    }
    return { server: doc.server, token: doc.token, ca: readFileSync(doc.ca_file, 'utf8'), source: 'local-admin' };
  }
  throw new VigoError('E_NO_LOGIN', 'not logged in to any vigosrv', { hint: 'vigocli auth login --server https://HOST:8443 --token vgot_… (or run on the server host as root)' });
}

export function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  return api<T>(resolveTarget(), method, path, body);
}
