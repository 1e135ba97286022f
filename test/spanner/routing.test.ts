// Which bolt owns a hostname and which CAs a bolt trusts, from a real merged roster: the
// first pattern match in bolt-id order wins (not admission order), revoked bolts are never
// routed to and drop out of the trust bundle, and an excluded bolt (the one being drained)
// is skipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyRoster, liveBolts, mergeRows, routeHostname, signAdmit, signRevoke, trustBundle, type RosterRow } from '../../src/spanner/index.js';
import { globMatches, createCa } from '../../src/server/index.js';
import { SPANNER_ID, T0, ctxOf, key, pk } from './fixtures.js';


async function roster(revokeC: boolean) {
  const ca = async () => `${(await createCa('vigo CA x')).cert.replace(/\r\n/g, '\n').trim()}\n`;
  const cas = { 'bolt-a': await ca(), 'bolt-b': await ca(), 'bolt-c': await ca() };
  const row = (name: 'bolt-a' | 'bolt-b' | 'bolt-c', patterns: string[], at: number) =>
    signAdmit(key('bolt-a'), { spanner_id: SPANNER_ID, bolt_id: name, pubkey: pk(name), hostname: name, peer_addr: `${name}:8443`, patterns, envoy_ca_pem: cas[name], admitted_at: at });
  // C is admitted before B: routing must not follow admission order
  const rows: RosterRow[] = [await row('bolt-a', ['web-*'], T0), await row('bolt-c', ['db-*', 'cache-*'], T0 + 1), await row('bolt-b', ['db-*', 'solo-?'], T0 + 2)];
  if (revokeC) rows.push(await signRevoke(key('bolt-a'), { spanner_id: SPANNER_ID, pubkey: pk('bolt-c'), revoked_at: T0 + 10, reason: 'removed' }));
  const m = mergeRows(emptyRoster(), rows, ctxOf('bolt-a'));
  assert.deepEqual(m.refused, []);
  return { live: liveBolts(m.state, T0 + 20), cas };
}

test('first match in bolt-id order wins; excluded and unmatched hostnames', async () => {
  const { live } = await roster(false);
  const owner = (h: string, exclude: string[] = []) => routeHostname(live, h, globMatches, exclude.map(pk))?.bolt_id ?? null;
  assert.equal(owner('web-01'), 'bolt-a');
  assert.equal(owner('DB-01'), 'bolt-b', 'bolt-b sorts before bolt-c, though admitted after it; case-insensitive');
  assert.equal(owner('cache-1'), 'bolt-c');
  assert.equal(owner('solo-1'), 'bolt-b');
  assert.equal(owner('solo-12'), null, 'no pattern matches: the caller decides');
  assert.equal(owner('db-01', ['bolt-b']), 'bolt-c', 'draining bolt-b: the next match');
  assert.equal(owner('solo-1', ['bolt-b']), null, 'draining bolt-b: nowhere to go');
});

test('a revoked bolt is routed nothing and its CA leaves the trust bundle', async () => {
  const { live, cas } = await roster(true);
  assert.deepEqual(live.map((b) => b.bolt_id), ['bolt-a', 'bolt-b']);
  assert.equal(routeHostname(live, 'cache-1', globMatches)?.bolt_id ?? null, null);
  assert.equal(routeHostname(live, 'db-01', globMatches)?.bolt_id, 'bolt-b');
  const own = cas['bolt-b'];
  const bundle = trustBundle(own, live);
  // this bolt's CA first, then the live bolts' in bolt-id order, each once
  assert.equal(bundle, `${cas['bolt-b'].trim()}\n${cas['bolt-a'].trim()}\n`);
  assert.ok(!bundle.includes(cas['bolt-c'].trim()));
  // a removed bolt keeps its own CA (its former envoys still reach it to be redirected)
  assert.ok(trustBundle(cas['bolt-c'], live).startsWith(cas['bolt-c'].trim()));
});
