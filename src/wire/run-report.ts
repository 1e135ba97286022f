/**
 * Bounding run reports, shared by the agent (before it spools a report) and the server
 * (before it stores one). A report over its cap keeps every top-level field and as many
 * resources as fit — failed first, then changed, then ok, messages clipped — and says what
 * was cut in `truncated: {bytes, resources_omitted}`, counted from the report as the
 * engine made it (a report cut twice, on the envoy and on the server, adds both cuts up).
 * `counts` are never touched: they always describe the whole run.
 */

export interface Truncation {
  bytes: number;
  resources_omitted: number;
}

export interface ReportResource {
  id: string;
  type: string;
  status: string;
  message?: string;
}

export interface BoundableReport {
  status: string;
  counts: { ok: number; changed: number; failed: number };
  resources: ReportResource[];
  truncated?: Truncation;
}

/** The smallest cap either side accepts: room for the top-level fields and a few failures. */
export const MIN_REPORT_CAP_BYTES = 4096;
/** How much of one resource's message survives in a cut report. */
export const CLIPPED_MESSAGE_CHARS = 1024;

const RANK: Record<string, number> = { failed: 0, changed: 1, ok: 2 };

function clip(s: string, max: number): string {
  if (s.length <= max) return s;
  // do not split a surrogate pair
  const cut = /[\uD800-\uDBFF]/.test(s.charAt(max - 1)) ? max - 1 : max;
  return `${s.slice(0, cut)}… (${s.length - cut} more characters)`;
}

/**
 * The report as JSON of at most `maxBytes` bytes (UTF-8). `json` is the report's JSON as
 * received when known (so an unmodified report is passed through byte for byte).
 */
export function boundReport<R extends BoundableReport>(report: R, maxBytes: number, json: string = JSON.stringify(report)): { json: string; truncated: Truncation } {
  const prior: Truncation = { bytes: report.truncated?.bytes ?? 0, resources_omitted: report.truncated?.resources_omitted ?? 0 };
  const originalBytes = Buffer.byteLength(json, 'utf8');
  if (originalBytes <= maxBytes) return { json, truncated: prior };
  const ordered = report.resources
    .map((r, i) => ({ r, i }))
    .sort((a, b) => (RANK[a.r.status] ?? 3) - (RANK[b.r.status] ?? 3) || a.i - b.i)
    .map(({ r }) => (r.message === undefined ? r : { ...r, message: clip(r.message, CLIPPED_MESSAGE_CHARS) }));
  // room for the truncation note with the largest numbers it can hold
  const reserve: Truncation = { bytes: Number.MAX_SAFE_INTEGER, resources_omitted: Number.MAX_SAFE_INTEGER };
  let used = Buffer.byteLength(JSON.stringify({ ...report, resources: [], truncated: reserve }), 'utf8');
  const kept: ReportResource[] = [];
  for (const r of ordered) {
    const size = Buffer.byteLength(JSON.stringify(r), 'utf8') + 1; // and its comma
    if (used + size > maxBytes) break;
    used += size;
    kept.push(r);
  }
  const omitted = report.resources.length - kept.length;
  const draft = (t: Truncation) => JSON.stringify({ ...report, resources: kept, truncated: t });
  // the note counts the bytes it leaves out, its own digits included: settle on a fixed point
  let truncated: Truncation = { bytes: 0, resources_omitted: prior.resources_omitted + omitted };
  let out = draft(truncated);
  for (let i = 0; i < 4; i++) {
    const bytes = prior.bytes + Math.max(0, originalBytes - Buffer.byteLength(out, 'utf8'));
    if (bytes === truncated.bytes) break;
    truncated = { ...truncated, bytes };
    out = draft(truncated);
  }
  return { json: out, truncated };
}

/** "truncated: N bytes / M resources omitted", or null when nothing was cut. */
export function describeTruncation(t: Truncation): string | null {
  if (t.bytes === 0 && t.resources_omitted === 0) return null;
  return `truncated: ${t.bytes} bytes / ${t.resources_omitted} resources omitted`;
}

export interface RunSummary {
  counts: { ok: number; changed: number; failed: number };
  /** resources in the run as the engine made it (listed + omitted) */
  resources: number;
  /** `name`: the resource's, when it has one */
  failing: { id: string; name?: string; type: string; message: string }[];
  /** failed resources not listed (beyond `failing`'s bound, or cut before the report arrived) */
  failing_omitted: number;
}

export const SUMMARY_FAILING_MAX = 50;
const SUMMARY_MESSAGE_CHARS = 512;

/** Per-resource outcomes of a run, small whatever the report's size. */
export function summarizeRun(report: BoundableReport): RunSummary {
  const failed = report.resources.filter((r) => r.status === 'failed');
  const failing = failed.slice(0, SUMMARY_FAILING_MAX).map((r) => {
    const name = (r as { name?: unknown }).name;
    const id = clip(r.id, SUMMARY_MESSAGE_CHARS);
    const message = clip(r.message ?? '', SUMMARY_MESSAGE_CHARS);
    return typeof name === 'string' && name !== '' ? { id, name: clip(name, SUMMARY_MESSAGE_CHARS), type: r.type, message } : { id, type: r.type, message };
  });
  return {
    counts: { ...report.counts },
    resources: report.resources.length + (report.truncated?.resources_omitted ?? 0),
    failing,
    failing_omitted: Math.max(0, report.counts.failed - failing.length),
  };
}
