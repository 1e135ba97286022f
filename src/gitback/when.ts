/**
 * Times an operator can read: ISO 8601 (UTC, seconds) and how far from now. Dependency-free,
 * so the remote helper can use it on its hot path to reword the daemon's refusals.
 */
export function iso(t: number | null): string {
  return t === null ? 'never' : new Date(t * 1000).toISOString().replace('.000Z', 'Z');
}

/** "2026-12-04T20:00:00Z (in 3 days)", "… (2 hours ago)". */
export function whenHuman(t: number, now: number): string {
  const d = t - now;
  const a = Math.abs(d);
  const [n, unit] = a >= 86_400 ? [Math.round(a / 86_400), 'day'] : a >= 3600 ? [Math.round(a / 3600), 'hour'] : a >= 60 ? [Math.round(a / 60), 'minute'] : [a, 'second'];
  const span = `${n} ${unit}${n === 1 ? '' : 's'}`;
  return `${iso(t)} (${d >= 0 ? `in ${span}` : `${span} ago`})`;
}

/**
 * Rewords the raw unix times the trust core puts in expiry messages ("chain[1] expired at
 * 1764000000 (now 1764003600)", "the issuing token expires at 1764000000") as whenHuman.
 */
export function humanizeTimes(msg: string, now: number): string {
  return msg
    .replace(/ \(now \d{9,11}\)/g, '')
    .replace(/\b(expired at |expires at |expires |after its parent \()(\d{9,11})\b/g, (_, what: string, t: string) => `${what}${whenHuman(Number(t), now)}`);
}
