/**
 * Mode and ownership of files and directories: what differs, and putting it right.
 * Unmanaged fields (null/omitted) are left as they are. Names are resolved to ids before
 * any node is opened (resolving spawns getent, which must not sit between a check and a
 * change); the change is then made through the fd whose stat was compared, never by path.
 */
import { fchmodSync, fchownSync } from 'node:fs';
import type { AtStat } from '../../platform/fsat.js';
import type { Accounts } from './accounts.js';
import { parseMode } from '../../wire/bundle-schema.js';

export interface DesiredMeta {
  mode?: string | null | undefined;
  owner?: string | null | undefined;
  group?: string | null | undefined;
}

/** The desired metadata with names resolved to ids (null: unmanaged). */
export interface WantedMeta {
  mode: number | null;
  uid: number | null;
  gid: number | null;
  owner: string | null;
  group: string | null;
}

export interface MetaPlan {
  mode: number | null;
  uid: number | null;
  gid: number | null;
  changes: string[];
}

export const fmtMode = (m: number): string => '0' + (m & 0o7777).toString(8).padStart(3, '0');

/** Resolve owner and group names (getent, cached per run); throws for an unknown name. */
export function resolveMeta(want: DesiredMeta, accounts: Accounts): WantedMeta {
  const owner = want.owner ?? null;
  const group = want.group ?? null;
  return {
    mode: want.mode === undefined || want.mode === null ? null : (parseMode(want.mode) ?? 0),
    uid: owner === null ? null : accounts.uid(owner),
    gid: group === null ? null : accounts.gid(group),
    owner,
    group,
  };
}

/** What would change on an existing node (`st`), or on a new one (`st` null). */
export function planMeta(st: AtStat | null, want: WantedMeta): MetaPlan {
  const plan: MetaPlan = { mode: null, uid: null, gid: null, changes: [] };
  if (want.mode !== null && (st === null || (st.mode & 0o7777) !== want.mode)) {
    plan.mode = want.mode;
    if (st !== null) plan.changes.push(`mode ${fmtMode(st.mode)} → ${fmtMode(want.mode)}`);
  }
  if (want.uid !== null && (st === null || st.uid !== want.uid)) {
    plan.uid = want.uid;
    if (st !== null) plan.changes.push(`owner ${st.uid} → ${want.owner}`);
  }
  if (want.gid !== null && (st === null || st.gid !== want.gid)) {
    plan.gid = want.gid;
    if (st !== null) plan.changes.push(`group ${st.gid} → ${want.group}`);
  }
  return plan;
}

/** Through the opened fd. Ownership before mode: chown clears setuid/setgid bits, so chmod comes last. */
export function applyMetaFd(fd: number, plan: MetaPlan): void {
  if (plan.uid !== null || plan.gid !== null) fchownSync(fd, plan.uid ?? -1, plan.gid ?? -1);
  if (plan.mode !== null) fchmodSync(fd, plan.mode);
}
