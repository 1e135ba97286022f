/**
 * Which REST paths are per-bolt admin requests, and which bolt owns each: the forwarding
 * hook (spanner-forward.ts) routes by it, and authentication (auth.ts) lets a forwarded
 * call reach only these paths without a bearer token.
 */
const BOLT_PATH = /^\/api\/v1\/spanner\/bolts\/([^/?]+)(?:\/[^?]*)?(?:\?.*)?$/;
export const REASSIGN_PATH = '/api/v1/spanner/reassign';

/** Whether a URL is a per-bolt admin path (one that may arrive as a forwarded call). */
export function isForwardablePath(url: string): boolean {
  return BOLT_PATH.test(url) || url.split('?')[0] === REASSIGN_PATH;
}

/** The bolt id that owns a request, or null when the request is not per-bolt (or names none). */
export function ownerOf(method: string, url: string, body: unknown): string | null {
  const m = BOLT_PATH.exec(url);
  if (m) {
    try {
      return decodeURIComponent(m[1]!);
    } catch {
      return null;
    }
  }
  if (method === 'POST' && url.split('?')[0] === REASSIGN_PATH && typeof body === 'object' && body !== null) {
    const from = (body as { from?: unknown }).from;
    return typeof from === 'string' ? from : null;
  }
  return null;
}
