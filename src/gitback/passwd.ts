/**
 * The system's users, from /etc/passwd (not under VIGO_ROOT: they are the real users of
 * this host). The helper daemon maps a kernel-reported uid to a name and home here.
 */
import { readFileSync } from 'node:fs';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 7) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    out.push({ name: f[0] as string, uid, gid, home: f[5] as string });
  }
  return out;
}

export function readPasswd(file = '/etc/passwd'): PasswdEntry[] {
  return parsePasswd(readFileSync(file, 'utf8'));
}

export function userByUid(uid: number, file = '/etc/passwd'): PasswdEntry | null {
  return readPasswd(file).find((u) => u.uid === uid) ?? null;
}
