/**
 * Which bolt owns an envoy, and which CAs the spanner's envoys and bolts trust. Pure: the
 * live roster bolts come in, a decision comes out (no sockets, files or clocks).
 *
 * Routing: the live bolts in bolt-id order (the order `bolt list` prints, the same on
 * every bolt holding the same roster), each bolt's patterns in the order its roster row
 * lists them; the first pattern that matches the hostname names the owner. No match: the
 * caller decides (an enrollment stays at the bolt that received it; a drain refuses).
 *
 * Trust: this bolt's own CA first, then every live roster bolt's envoy CA in bolt-id
 * order, each once. A revoked bolt's CA drops out of the bundle on the next roster change.
 */
import type { Hex } from '../trust/index.js';
import type { BoltEntry } from './roster.js';

/** Whether a hostname glob matches (the server's stacks globs; passed in, the spanner has none). */
export type HostMatcher = (glob: string, hostname: string) => boolean;

/** The first live bolt (bolt-id order) with a pattern matching `hostname`, skipping `exclude`; null when none. */
export function routeHostname(live: readonly BoltEntry[], hostname: string, matches: HostMatcher, exclude: readonly Hex[] = []): BoltEntry | null {
  const sorted = [...live].sort((a, b) => (a.bolt_id < b.bolt_id ? -1 : a.bolt_id > b.bolt_id ? 1 : 0));
  for (const b of sorted) {
    if (exclude.includes(b.pubkey)) continue;
    if (b.admit.patterns.some((p) => matches(p, hostname))) return b;
  }
  return null;
}

function normalizePem(pem: string): string {
  return `${pem.replace(/\r\n/g, '\n').trim()}\n`;
}

/** This bolt's CA and every live bolt's envoy CA (bolt-id order), deduplicated, as one PEM bundle. */
export function trustBundle(ownCaPem: string, live: readonly BoltEntry[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  const add = (pem: string) => {
    const n = normalizePem(pem);
    if (!seen.has(n)) {
      seen.add(n);
      out.push(n);
    }
  };
  add(ownCaPem);
  for (const b of [...live].sort((x, y) => (x.bolt_id < y.bolt_id ? -1 : x.bolt_id > y.bolt_id ? 1 : 0))) add(b.admit.envoy_ca_pem);
  return out.join('');
}
