/**
 * Mode and ownership of files and directories: what differs, and putting it right.
 * Unmanaged fields (null/omitted) are left as they are.
 */
import { chmodSync, lchownSync, type Stats } from 'node:fs';
import type { Accounts } from './accounts.js';
import { parseMode } from './schema.js';

export interface DesiredMeta {
  mode?: string | null | undefined;
  owner?: string | null | undefined;
  group?: string | null | undefined;
}

export interface MetaPlan {
  mode: number | null;
  uid: number | null;
  gid: number | null;
  changes: string[];
}

export const fmtMode = (m: number): string => '0' + (m & 0o7777).toString(8).padStart(3, '0');

/** What would change on an existing node (`st`), or on a new one (`st` null). */
export function planMeta(st: Stats | null, want: DesiredMeta, accounts: Accounts): MetaPlan {
  const plan: MetaPlan = { mode: null, uid: null, gid: null, changes: [] };
  if (want.mode !== undefined && want.mode !== null) {
    const m = parseMode(want.mode) ?? 0;
    if (st === null || (st.mode & 0o7777) !== m) {
      plan.mode = m;
      if (st !== null) plan.changes.push(`mode ${fmtMode(st.mode)} → ${fmtMode(m)}`);
    }
  }
  if (want.owner !== undefined && want.owner !== null) {
    const uid = accounts.uid(want.owner);
    if (st === null || st.uid !== uid) {
      plan.uid = uid;
      if (st !== null) plan.changes.push(`owner ${st.uid} → ${want.owner}`);
    }
  }
  if (want.group !== undefined && want.group !== null) {
    const gid = accounts.gid(want.group);
    if (st === null || st.gid !== gid) {
      plan.gid = gid;
      if (st !== null) plan.changes.push(`group ${st.gid} → ${want.group}`);
    }
  }
  return plan;
}

/** Ownership before mode: chown clears setuid/setgid bits, so chmod must come last. */
export function applyMeta(host: string, plan: MetaPlan): void {
  if (plan.uid !== null || plan.gid !== null) lchownSync(host, plan.uid ?? -1, plan.gid ?? -1);
  if (plan.mode !== null) chmodSync(host, plan.mode);
}
