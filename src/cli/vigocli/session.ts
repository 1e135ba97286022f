/**
 * Which server vigocli talks to, and as whom. With the global `--server URL`: that
 * server's saved login (or $VIGO_SERVER's, or the local-admin token, when they are for it);
 * without it, in order: $VIGO_SERVER + $VIGO_TOKEN (+ $VIGO_CA_FILE); the newest login saved
 * by `vigocli auth login` (~/.vigocli/auth.json, 0600, one login per server); the
 * local-admin token vigosrv writes at boot on this host (root-only), so an operator on the
 * server needs no login.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { homeDir, paths } from '../../platform/paths.js';
import { writeJsonAtomic } from '../../platform/atomic.js';
import { VigoError } from '../../platform/errors.js';
import { api, apiRaw, checked, parseServerUrl, type ApiResponse, type ApiTarget } from '../../wire/rest-client.js';

export interface SavedLogin {
  server: string;
  token: string;
  ca: string;
  ca_fingerprint: string;
  /** ms since the epoch; the newest login is the default */
  saved_at: number;
}

interface LoginFile {
  v: 2;
  logins: SavedLogin[];
}

export function loginFile(): string {
  return join(homeDir(process.env), '.vigocli', 'auth.json');
}

export function localAdminPath(): string {
  return join(paths.srv(process.env), 'local-admin.json');
}

let selected: string | undefined;

/** The global `--server URL` (its origin), set before a verb runs. */
export function selectServer(url: string | undefined): void {
  selected = url === undefined ? undefined : parseServerUrl(url).origin;
}

export function selectedServer(): string | undefined {
  return selected;
}

/** Every saved login, newest first. A v1 file (one login, no list) reads as one login. */
export function savedLogins(): SavedLogin[] {
  const f = loginFile();
  if (!existsSync(f)) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(f, 'utf8'));
  } catch (e) {
    throw new VigoError('E_NO_LOGIN', `${f}: not JSON (${e instanceof Error ? e.message : String(e)})`, { hint: `remove it and log in again: vigocli auth login --server URL --token vgot_…` });
  }
  const d = doc as Partial<LoginFile> & Partial<SavedLogin>;
  const list = Array.isArray(d.logins) ? d.logins : typeof d.server === 'string' ? [{ ...(d as SavedLogin), saved_at: d.saved_at ?? 0 }] : [];
  return list.filter((l) => typeof l?.server === 'string' && typeof l.token === 'string' && typeof l.ca === 'string').sort((a, b) => (b.saved_at ?? 0) - (a.saved_at ?? 0));
}

/** Saves (or replaces) the login for l.server, making it the newest, so the default. */
export function saveLogin(l: Omit<SavedLogin, 'saved_at'>, nowMs = Date.now()): void {
  const others = savedLogins().filter((x) => x.server !== l.server);
  const doc: LoginFile = { v: 2, logins: [{ ...l, saved_at: nowMs }, ...others] };
  writeJsonAtomic(loginFile(), doc, { mode: 0o600, mkdirMode: 0o700 });
}

/** Forgets the login for `server` (default: the newest). Returns the server forgotten, or null. */
export function removeLogin(server?: string): string | null {
  const all = savedLogins();
  const gone = server === undefined ? all[0] : all.find((l) => l.server === server);
  if (gone === undefined) return null;
  const rest = all.filter((l) => l !== gone);
  if (rest.length === 0) rmSync(loginFile());
  else writeJsonAtomic(loginFile(), { v: 2, logins: rest } satisfies LoginFile, { mode: 0o600, mkdirMode: 0o700 });
  return gone.server;
}

export type Source = 'env' | 'login' | 'local-admin';

function envTarget(): (ApiTarget & { source: Source }) | null {
  const env = process.env;
  if (!env.VIGO_SERVER || !env.VIGO_TOKEN) return null;
  const caFile = env.VIGO_CA_FILE;
  if (!caFile) throw new VigoError('E_NO_CA', 'VIGO_SERVER is set but VIGO_CA_FILE is not', { hint: 'point VIGO_CA_FILE at the server CA (srv/vigo/tls/ca.crt)' });
  return { server: env.VIGO_SERVER, token: env.VIGO_TOKEN, ca: readFileSync(caFile, 'utf8'), source: 'env' };
}

function localAdminTarget(): (ApiTarget & { source: Source }) | null {
  const la = localAdminPath();
  if (!existsSync(la)) return null;
  let doc: { server: string; token: string; ca_file: string };
  try {
    doc = JSON.parse(readFileSync(la, 'utf8')) as typeof doc;
  } catch (e) {
    throw new VigoError('E_NO_LOGIN', `cannot read the local-admin token ${la}: ${e instanceof Error ? e.message : String(e)}`, { hint: 'run vigocli as root on the server host, or `vigocli auth login`' });
  }
  return { server: doc.server, token: doc.token, ca: readFileSync(doc.ca_file, 'utf8'), source: 'local-admin' };
}

const sameOrigin = (a: string, b: string): boolean => {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
};

export function resolveTarget(): ApiTarget & { source: Source } {
  if (selected !== undefined) {
    const want = selected;
    const e = envTarget();
    if (e && sameOrigin(e.server, want)) return e;
    const l = savedLogins().find((x) => sameOrigin(x.server, want));
    if (l) return { server: l.server, token: l.token, ca: l.ca, source: 'login' };
    const la = localAdminTarget();
    if (la && sameOrigin(la.server, want)) return la;
    throw new VigoError('E_NO_LOGIN', `not logged in to ${want}`, { hint: `vigocli auth login --server ${want} --token vgot_… (see \`vigocli auth status\` for the servers you are logged in to)` });
  }
  const e = envTarget();
  if (e) return e;
  const l = savedLogins()[0];
  if (l) return { server: l.server, token: l.token, ca: l.ca, source: 'login' };
  const la = localAdminTarget();
  if (la) return la;
  throw new VigoError('E_NO_LOGIN', 'not logged in to any vigosrv', { hint: 'vigocli auth login --server https://HOST:8443 --token vgot_… (or run on the server host as root)' });
}

export function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  return api<T>(resolveTarget(), method, path, body);
}

/** Like call, with the answer's headers (a forwarded answer names the bolt that answered and the round trip). */
export async function callRaw<T>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
  return checked(method, path, await apiRaw<T>(resolveTarget(), method, path, body));
}
