/**
 * The secrets backend: a 32-byte master key (`<secrets>/.master.key`, 0600) and one
 * AES-256-GCM file per secret (`<secrets>/<name>.secret`, 0600; the name is the AAD so a
 * file renamed onto another name fails to open). `unlock` opens a sliding window
 * (`/srv/vigo/.secrets-unlocked`, default 24 h): every reveal or set while it is open
 * pushes its end out again. Values never reach logs.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../platform/atomic.js';
import { VigoError } from '../platform/errors.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface SecretsPaths {
  dir: string;
  keyFile: string;
  unlockedFile: string;
}

export function secretsPaths(secretsDir: string, dataDir: string, keyFile?: string): SecretsPaths {
  return { dir: secretsDir, keyFile: keyFile ?? join(secretsDir, '.master.key'), unlockedFile: join(dataDir, '.secrets-unlocked') };
}

/** Create the master key if absent. Returns true when it was created. */
export function ensureMasterKey(p: SecretsPaths): boolean {
  if (existsSync(p.keyFile)) return false;
  writeFileAtomic(p.keyFile, randomBytes(32), { mode: 0o600, mkdirMode: 0o700 });
  return true;
}

function readMasterKey(p: SecretsPaths): Buffer {
  if (!existsSync(p.keyFile)) throw new VigoError('E_SECRETS_NO_KEY', `no master key at ${p.keyFile}`, { hint: 'run `vigocli secrets init` (or start vigosrv once)' });
  const key = readFileSync(p.keyFile);
  if (key.length !== 32) throw new VigoError('E_SECRETS_BAD_KEY', `${p.keyFile}: master key must be 32 bytes, found ${key.length}`);
  return key;
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw new VigoError('E_SECRETS_BAD_NAME', `bad secret name '${name}': 1–128 of [A-Za-z0-9._-], starting with a letter or digit`);
}

export function unlockedUntil(p: SecretsPaths, nowMs: number): number | null {
  if (!existsSync(p.unlockedFile)) return null;
  try {
    const v = JSON.parse(readFileSync(p.unlockedFile, 'utf8')) as { expires_at?: unknown };
    return typeof v.expires_at === 'number' && v.expires_at > nowMs ? v.expires_at : null;
  } catch {
    return null;
  }
}

export function unlock(p: SecretsPaths, nowMs: number, windowMs: number): number {
  readMasterKey(p);
  const expires = nowMs + windowMs;
  writeJsonAtomic(p.unlockedFile, { expires_at: expires }, { mode: 0o600 });
  return expires;
}

export function lock(p: SecretsPaths): void {
  rmSync(p.unlockedFile, { force: true });
}

function requireUnlocked(p: SecretsPaths, nowMs: number, windowMs: number): void {
  if (unlockedUntil(p, nowMs) === null) {
    throw new VigoError('E_SECRETS_LOCKED', 'the secrets vault is locked', { hint: `run \`vigocli secrets unlock\` (opens a ${Math.round((windowMs / 3600_000) * 100) / 100} h window, secrets.unlock_window_h)` });
  }
  writeJsonAtomic(p.unlockedFile, { expires_at: nowMs + windowMs }, { mode: 0o600 });
}

interface SealedDoc {
  v: 1;
  alg: 'AES-256-GCM';
  iv: string;
  tag: string;
  ct: string;
}

function sealDoc(key: Buffer, aad: string, value: Buffer): SealedDoc {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const ct = Buffer.concat([c.update(value), c.final()]);
  return { v: 1, alg: 'AES-256-GCM', iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64'), ct: ct.toString('base64') };
}

function openDoc(key: Buffer, aad: string, doc: SealedDoc): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(doc.iv, 'base64'));
  d.setAAD(Buffer.from(aad, 'utf8'));
  d.setAuthTag(Buffer.from(doc.tag, 'base64'));
  return Buffer.concat([d.update(Buffer.from(doc.ct, 'base64')), d.final()]);
}

/** Seals and opens a key another subsystem keeps at rest (e.g. the spanner bolt key). */
export interface KeyWrap {
  seal(aad: string, value: Buffer): string;
  /** throws E_SECRETS_CORRUPT naming `file` when the text was not sealed under this master key and aad */
  open(aad: string, text: string, file: string): Buffer;
}

/**
 * A wrap under a key derived from the master key (HKDF-SHA256, info = `domain`, e.g.
 * `vigo/spanner-bolt-key/v1`): the master key itself never wraps anything but secrets, and
 * each use has its own key. Needs no unlock window: vigosrv opens it at boot, unattended.
 */
export function masterKeyWrap(p: SecretsPaths, domain: string): KeyWrap {
  const key = Buffer.from(hkdfSync('sha256', readMasterKey(p), Buffer.alloc(0), Buffer.from(domain, 'utf8'), 32));
  return {
    seal: (aad, value) => JSON.stringify(sealDoc(key, aad, value)) + '\n',
    open: (aad, text, file) => {
      try {
        return openDoc(key, aad, JSON.parse(text) as SealedDoc);
      } catch {
        throw new VigoError('E_SECRETS_CORRUPT', `${file}: cannot be opened with this server's master key (tampered, or from another server)`, { hint: 'restore it from backup with its master key, or move it aside to make a new one (a new key is a new bolt)' });
      }
    },
  };
}

export function setSecret(p: SecretsPaths, name: string, value: Buffer, nowMs: number, windowMs: number): void {
  checkName(name);
  requireUnlocked(p, nowMs, windowMs);
  const doc = sealDoc(readMasterKey(p), name, value);
  writeFileAtomic(join(p.dir, `${name}.secret`), JSON.stringify(doc) + '\n', { mode: 0o600, mkdirMode: 0o700 });
}

export function revealSecret(p: SecretsPaths, name: string, nowMs: number, windowMs: number): Buffer {
  checkName(name);
  requireUnlocked(p, nowMs, windowMs);
  const file = join(p.dir, `${name}.secret`);
  if (!existsSync(file)) throw new VigoError('E_SECRETS_NOT_FOUND', `no secret named '${name}'`, { hint: 'see `vigocli secrets list`' });
  const key = readMasterKey(p);
  try {
    return openDoc(key, name, JSON.parse(readFileSync(file, 'utf8')) as SealedDoc);
  } catch {
    throw new VigoError('E_SECRETS_CORRUPT', `${file}: cannot be decrypted with this master key (tampered, renamed or from another server)`);
  }
}

export function listSecrets(p: SecretsPaths): string[] {
  if (!existsSync(p.dir)) return [];
  return readdirSync(p.dir)
    .filter((n) => n.endsWith('.secret') && !n.startsWith('.'))
    .map((n) => n.slice(0, -'.secret'.length))
    .sort();
}
