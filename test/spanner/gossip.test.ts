// RosterGossip between real instances, messages passed as JSON text (as a transport would):
// two bolts that hold different rows end with one roster; a roster bigger than one message
// arrives in several, each within the bound; strangers, other spanners and oversized
// messages are ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, seededRng } from '../../src/platform/clock.js';
import { MAX_GOSSIP_MESSAGE_BYTES, memoryRosterStore, RosterGossip, rosterDigest, type GossipMessage, type Outgoing, type RosterRow } from '../../src/spanner/index.js';
import { admit, consume, ctxOf, pk, revoke, T0 } from './fixtures.js';

const ctx = ctxOf('bolt-a');

function bolt(name: string, clock: ManualClock, rows: RosterRow[]): RosterGossip {
  return new RosterGossip({ self: pk(name), ctx, clock, rng: seededRng(name), store: memoryRosterStore(rows) });
}

/** Delivers every message (and every answer) between the named bolts; returns what travelled. */
function exchange(bolts: Map<string, RosterGossip>, first: { from: string; send: Outgoing[] }): { t: string; bytes: number }[] {
  const byKey = new Map([...bolts].map(([n, g]) => [pk(n), { n, g }]));
  const queue = first.send.map((o) => ({ from: first.from, o }));
  const seen: { t: string; bytes: number }[] = [];
  for (let i = 0; queue.length > 0 && i < 1000; i++) {
    const { from, o } = queue.shift()!;
    const dest = byKey.get(o.to);
    if (dest === undefined) continue;
    const text = JSON.stringify(o.msg);
    const bytes = Buffer.byteLength(text);
    seen.push({ t: o.msg.t, bytes });
    for (const next of dest.g.onMessage(pk(from), JSON.parse(text) as unknown, bytes).send) queue.push({ from: dest.n, o: next });
  }
  return seen;
}

test('two bolts holding different rows end with one roster after one exchange', async () => {
  const clock = new ManualClock((T0 + 100) * 1000);
  const root = await admit('bolt-a', 'bolt-a', T0);
  const b = await admit('bolt-a', 'bolt-b', T0 + 10);
  const a = bolt('bolt-a', clock, [root, b, await admit('bolt-a', 'bolt-c', T0 + 20), await revoke('bolt-a', 'bolt-c', T0 + 50)]);
  const bb = bolt('bolt-b', clock, [root, b, await admit('bolt-b', 'bolt-d', T0 + 30), await consume('bolt-b', 'inv-d', T0 + 30)]);
  assert.notEqual(rosterDigest(a.roster), rosterDigest(bb.roster));
  clock.advance(1000);
  const t = a.tick();
  assert.ok(t.wakeAt > clock.now(), 'the next round is in the future');
  const seen = exchange(new Map([['bolt-a', a], ['bolt-b', bb]]), { from: 'bolt-a', send: t.send });
  assert.equal(rosterDigest(a.roster), rosterDigest(bb.roster));
  assert.deepEqual(seen.slice(0, 4).map((m) => m.t), ['digest', 'pull', 'rows', 'rows'], 'digest, pull, rows, and the rows the first lacked');
  assert.equal(a.roster.held.size, 6);
  assert.equal(a.roster.revoked.has(pk('bolt-c')), true);
  assert.equal(bb.roster.revoked.has(pk('bolt-c')), true);
  assert.ok(a.lastHeard().has(pk('bolt-b')));
  // Equal rosters cost one digest message a round.
  clock.advance(1000);
  const again = exchange(new Map([['bolt-a', a], ['bolt-b', bb]]), { from: 'bolt-a', send: a.tick().send.filter((o) => o.to === pk('bolt-b')) });
  assert.deepEqual(again.map((m) => m.t), ['digest']);
  console.log(`equal rosters: one digest message of ${again[0]!.bytes} bytes`);
});

test('a roster bigger than one message arrives in several, each within 1 MiB', async () => {
  const clock = new ManualClock((T0 + 100) * 1000);
  const root = await admit('bolt-a', 'bolt-a', T0);
  const b = await admit('bolt-a', 'bolt-b', T0 + 1);
  const many: RosterRow[] = [root, b];
  for (let i = 0; i < 1000; i++) many.push(await admit('bolt-a', `bolt-x${i}`, T0 + 2));
  const a = bolt('bolt-a', clock, many);
  const bb = bolt('bolt-b', clock, [root, b]);
  clock.advance(1000);
  // A's round digest goes to 3 of its 1001 peers; the one to bolt-b is the one we follow.
  const round = a.tick().send;
  assert.equal(round.length, 3);
  const seen = exchange(new Map([['bolt-a', a], ['bolt-b', bb]]), { from: 'bolt-a', send: [{ to: pk('bolt-b'), msg: round[0]!.msg }] });
  const rows = seen.filter((m) => m.t === 'rows');
  console.log(`1002 rows went in ${rows.length} rows messages of ${rows.map((m) => m.bytes).join(', ')} bytes`);
  assert.ok(rows.length >= 2, 'more than one rows message');
  for (const m of seen) assert.ok(m.bytes <= MAX_GOSSIP_MESSAGE_BYTES, `${m.t}: ${m.bytes} bytes`);
  assert.equal(rosterDigest(bb.roster), rosterDigest(a.roster));
});

test('messages from a key not live in the roster, for another spanner, malformed or oversized are ignored', async () => {
  const clock = new ManualClock((T0 + 100) * 1000);
  const a = bolt('bolt-a', clock, [await admit('bolt-a', 'bolt-a', T0), await admit('bolt-a', 'bolt-b', T0 + 10), await revoke('bolt-a', 'bolt-b', T0 + 50)]);
  const digest: GossipMessage = { v: 1, t: 'digest', spanner_id: ctx.spannerId, digest: '0'.repeat(64), rows: 1 };
  assert.deepEqual(a.onMessage(pk('mallory'), digest).send, [], 'a stranger');
  assert.deepEqual(a.onMessage(pk('bolt-b'), digest).send, [], 'a revoked bolt');
  assert.deepEqual(a.onMessage(pk('bolt-a'), digest).send, [], 'ourselves');
  assert.equal(a.counters.ignored, 3);
  const live = bolt('bolt-a', clock, [await admit('bolt-a', 'bolt-a', T0), await admit('bolt-a', 'bolt-c', T0 + 10)]);
  assert.equal(live.onMessage(pk('bolt-c'), digest).send[0]?.msg.t, 'pull', 'a live peer with another digest is pulled from');
  assert.deepEqual(live.onMessage(pk('bolt-c'), { ...digest, spanner_id: 'acme-staging' }).send, []);
  assert.deepEqual(live.onMessage(pk('bolt-c'), { ...digest, extra: 1 }).send, []);
  assert.deepEqual(live.onMessage(pk('bolt-c'), digest, MAX_GOSSIP_MESSAGE_BYTES + 1).send, []);
  assert.equal(live.counters.ignored, 3);
});

test('a row post-dated beyond the 300 s clock skew is held off until the clock reaches it', async () => {
  const clock = new ManualClock((T0 + 100) * 1000);
  const root = await admit('bolt-a', 'bolt-a', T0);
  const b = await admit('bolt-a', 'bolt-b', T0 + 10);
  const later = await admit('bolt-a', 'bolt-c', T0 + 100 + 3600); // signed "an hour from now"
  const a = bolt('bolt-a', clock, [root, b, later]);
  const bb = bolt('bolt-b', clock, [root, b]);
  const bolts = new Map([['bolt-a', a], ['bolt-b', bb]]);
  const digest = (): Outgoing[] => [{ to: pk('bolt-b'), msg: { v: 1, t: 'digest', spanner_id: ctx.spannerId, digest: rosterDigest(a.roster), rows: a.roster.held.size } }];
  exchange(bolts, { from: 'bolt-a', send: digest() });
  assert.equal(bb.roster.held.size, 2, 'bolt-b does not take the post-dated admit');
  assert.equal(bb.counters.futureRows, 1);
  clock.set((T0 + 100 + 3600 - 300) * 1000); // within the skew now
  exchange(bolts, { from: 'bolt-a', send: digest() });
  assert.equal(rosterDigest(bb.roster), rosterDigest(a.roster));
});
