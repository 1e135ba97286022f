/** Tables and --json for vigocli verbs. */
import { VigoError } from '../../platform/errors.js';

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, null, 2) + '\n');
}

export function printTable(headers: string[], rows: (string | number | null | undefined)[][]): void {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  process.stdout.write(line(headers) + '\n');
  for (const r of cells) process.stdout.write(line(r) + '\n');
}

/** "24h", "30m", "7d", "90s" or plain seconds → seconds. */
export function parseDuration(s: string, what: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(s.trim());
  if (!m) throw new VigoError('E_BAD_DURATION', `${what}: '${s}' is not a duration (e.g. 30m, 24h, 7d)`);
  const n = Number(m[1]);
  const mult = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] ?? ''] ?? 1;
  return n * mult;
}

export function ago(iso: string | null, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  if (s < 86400) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86400)}d ago`;
}

/** The stderr line of a merged (`--spanner`) view naming the bolts that did not answer. */
export function reportMissing(m: { bolts: { bolt_id: string; answered: boolean; error: string | null }[]; missing: string[] }): void {
  if (m.missing.length === 0) return;
  const why = m.bolts.filter((b) => !b.answered).map((b) => `${b.bolt_id} (${b.error ?? 'no answer'})`);
  process.stderr.write(`warning: ${m.missing.length} bolt(s) did not answer, their envoys are missing: ${why.join('; ')}\n`);
}
