/**
 * Envoy statuses and compliance — pure rules over what the index knows.
 *   offline   no check-in within 2 × the check-in interval (checked first: stale news is no news)
 *   stale-policy  it checked in again still holding the version it held when it was offered
 *             the published one (its runs describe an old policy, so they prove nothing)
 *   no-data   enrolled, no run reported yet
 *   failed    the last run had a failed resource
 *   diverged  3 or more consecutive runs with changes
 *   relapsed  exactly 2 consecutive runs with changes
 *   converged otherwise (the last run was clean, or one run changed something — applying
 *             a new policy or putting back one drift is what convergence is)
 * Compliance % = converged ÷ active, where active = enrolled and not revoked.
 */
export const STATUSES = ['converged', 'relapsed', 'diverged', 'failed', 'stale-policy', 'offline', 'no-data'] as const;
export type EnvoyStatus = (typeof STATUSES)[number];

export interface StatusInput {
  revoked: boolean;
  lastSeenMs: number | null;
  lastRunStatus: string | null;
  changeStreak: number;
  /** lags the published policy beyond one check-in (EnvoyIndex) */
  stalePolicy?: boolean;
}

export function envoyStatus(e: StatusInput, nowMs: number, intervalMs: number): EnvoyStatus {
  if (e.lastSeenMs !== null && nowMs - e.lastSeenMs > 2 * intervalMs) return 'offline';
  if (e.stalePolicy === true) return 'stale-policy';
  if (e.lastRunStatus === null) return 'no-data';
  if (e.lastRunStatus === 'failed') return 'failed';
  if (e.changeStreak >= 3) return 'diverged';
  if (e.changeStreak === 2) return 'relapsed';
  return 'converged';
}

/** The streak after a run: consecutive runs with changes. */
export function nextStreak(prev: number, runStatus: string): number {
  return runStatus === 'changed' ? prev + 1 : 0;
}

export interface Compliance {
  active: number;
  revoked: number;
  counts: Record<EnvoyStatus, number>;
  compliance_pct: number;
}

export function compliance(envoys: StatusInput[], nowMs: number, intervalMs: number): Compliance {
  const counts = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<EnvoyStatus, number>;
  let active = 0;
  let revoked = 0;
  for (const e of envoys) {
    if (e.revoked) {
      revoked++;
      continue;
    }
    active++;
    counts[envoyStatus(e, nowMs, intervalMs)]++;
  }
  const pct = active === 0 ? 0 : Math.round((counts.converged / active) * 10000) / 100;
  return { active, revoked, counts, compliance_pct: pct };
}
