/**
 * A bundle must fit in one check-in message (`MAX_BUNDLE_JSON_BYTES`, the limit both the
 * server and the envoy use). `checkBundleSizes` renders the candidate stacks for every
 * active envoy's hostname and refuses the publish naming each envoy whose bundle would
 * not fit — before `.live/` changes, so no envoy is left unable to receive its policy.
 * The error carries `statusCode = 422` for the REST error handler.
 */
import { VigoError } from '../../platform/errors.js';
import { resolveBundle, type Stacks } from '../publish/stacks-port.js';
import { MAX_BUNDLE_JSON_BYTES } from '../../wire/checkin.js';

export interface OversizedBundle {
  hostname: string;
  bytes: number;
}

/** Hostnames whose bundle for `version` would exceed the check-in limit, largest first. */
export function oversizedBundles(stacks: Stacks, hostnames: Iterable<string>, version: number, nowS: number, limit = MAX_BUNDLE_JSON_BYTES): OversizedBundle[] {
  const out: OversizedBundle[] = [];
  for (const hostname of new Set(hostnames)) {
    let bundle;
    try {
      bundle = resolveBundle(stacks, hostname, version, nowS);
    } catch {
      continue; // a bundle that does not resolve is reported at check-in, not a size problem
    }
    if (!bundle) continue;
    const bytes = Buffer.byteLength(JSON.stringify(bundle));
    if (bytes > limit) out.push({ hostname, bytes });
  }
  return out.sort((a, b) => b.bytes - a.bytes || a.hostname.localeCompare(b.hostname));
}

const mib = (n: number) => `${(n / 1048576).toFixed(2)} MiB`;

/** Throw (E_BUNDLE_TOO_LARGE, HTTP 422) when any envoy's bundle would not fit. */
export function checkBundleSizes(stacks: Stacks, hostnames: Iterable<string>, version: number, nowS: number, log: (m: string) => void, limit = MAX_BUNDLE_JSON_BYTES): void {
  const big = oversizedBundles(stacks, hostnames, version, nowS, limit);
  if (big.length === 0) return;
  const shown = big.slice(0, 20).map((b) => `${b.hostname} (${mib(b.bytes)})`).join(', ');
  const more = big.length > 20 ? ` and ${big.length - 20} more` : '';
  const message = `publish refused: the bundle would exceed the ${mib(limit)} check-in limit for ${big.length} envoy(s): ${shown}${more}; nothing was published. Make those bundles smaller (large file contents belong in a package or a fetched artifact)`;
  log(message);
  throw Object.assign(new VigoError('E_BUNDLE_TOO_LARGE', message), { statusCode: 422 });
}
