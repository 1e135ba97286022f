// The two pure decisions of issue 12 item 5/6: which announced projects `puddle unlock`
// adopts (ADR-023), and whether `puddle leave` would remove the last copy of the puddle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideLastCopy, planAdoption } from '../../src/gitback/index.js';
import { fromHex, projectId } from '../../src/trust/index.js';
import type { AnnouncedCache, AnnouncedProject } from '../../src/wire/gitback-announced.js';
import { pk, sha } from '../swarm/fixtures.js';

const ME = pk('adopt/me');
const EVE = pk('adopt/eve');
const pid = (key: string, handle: string): string => projectId(fromHex(key), handle);
const entry = (o: Partial<AnnouncedProject> & { project_id: string }): AnnouncedProject => ({ handle: 'vigo-web', founder: null, dr_scope: 'members-only', hosts: ['a.lan'], ...o });
const cache = (projects: AnnouncedProject[]): AnnouncedCache => ({ v: 2, written_at: 0, projects });

test('adopts exactly the announced projects whose id recomputes from this puddle and the handle, not held here', () => {
  const web = pid(ME, 'vigo-web');
  const dots = pid(ME, 'dotfiles');
  const held = pid(ME, 'held');
  const plan = planAdoption(
    cache([
      entry({ project_id: web, hosts: ['a.lan', 'c.lan'] }),
      entry({ project_id: dots, handle: 'dotfiles', dr_scope: 'swarm-wide', founder: ME }),
      entry({ project_id: held, handle: 'held' }),
      entry({ project_id: pid(EVE, 'vigo-web') }), // eve's project of the same name: not ours
      entry({ project_id: sha('old'), handle: null, dr_scope: null }), // old 2-field line: cannot recompute
    ]),
    ME,
    new Set([held]),
  );
  assert.deepEqual(plan.adopt.map((c) => [c.handle, c.scope, c.hosts]).sort(), [['dotfiles', 'swarm-wide', ['a.lan']], ['vigo-web', 'members-only', ['a.lan', 'c.lan']]]);
  assert.deepEqual(plan.held, [held]);
  assert.deepEqual(plan.refused, []);
});

test('a forged entry is refused: a named founder whose sha256(founder ‖ handle) is not the id', () => {
  const web = pid(ME, 'vigo-web');
  // eve's pid labelled with my key as founder: adopting it would mint tokens for a project I did not found
  const forged = entry({ project_id: pid(EVE, 'vigo-web'), founder: ME });
  // my pid under a handle that does not derive it: recomputation refuses it too (not adopted, not mine)
  const wrongHandle = entry({ project_id: web, handle: 'other' });
  const plan = planAdoption(cache([forged, wrongHandle]), ME, new Set());
  assert.deepEqual(plan.adopt, []);
  assert.equal(plan.refused.length, 1);
  assert.equal(plan.refused[0]!.projectId, forged.project_id);
  assert.match(plan.refused[0]!.reason, /is not sha256\(founder/);
});

test('a forged founder label on a genuine entry of mine is refused rather than trusted either way', () => {
  const web = pid(ME, 'vigo-web');
  const plan = planAdoption(cache([entry({ project_id: web, founder: EVE })]), ME, new Set());
  assert.deepEqual(plan.adopt, []);
  assert.equal(plan.refused.length, 1);
});

test('adoption is bounded per unlock; the rest is deferred, counted', () => {
  const many = Array.from({ length: 70 }, (_, i) => entry({ project_id: pid(ME, `p${i}`), handle: `p${i}` }));
  many.sort((a, b) => (a.project_id < b.project_id ? -1 : 1));
  const plan = planAdoption(cache(many), ME, new Set());
  assert.equal(plan.adopt.length, 64);
  assert.equal(plan.deferred, 6);
});

test('leave: no cache, or nothing announced, is the last copy (the safe default)', () => {
  assert.equal(decideLastCopy({ pubkey: ME, cache: null, local: [] }).lastCopy, true);
  assert.equal(decideLastCopy({ pubkey: ME, cache: cache([]), local: [] }).lastCopy, true);
});

test('leave: a host announcing a members-only project of mine with no other member holds my puddle', () => {
  const web = pid(ME, 'vigo-web');
  const d = decideLastCopy({ pubkey: ME, cache: cache([entry({ project_id: web, hosts: ['a.lan', 'b.lan'] })]), local: [{ projectId: web, handle: 'vigo-web', scope: 'members-only', members: [ME] }] });
  assert.equal(d.lastCopy, false);
  assert.deepEqual(d.otherHosts, ['a.lan', 'b.lan']);
  assert.equal(d.evidence.length, 1);
});

test('leave: what proves nothing about the puddle does not count', () => {
  const web = pid(ME, 'vigo-web');
  const local = [{ projectId: web, handle: 'vigo-web', scope: 'members-only' as const, members: [ME] }];
  const no = (projects: AnnouncedProject[], l = local): void => assert.equal(decideLastCopy({ pubkey: ME, cache: cache(projects), local: l }).lastCopy, true);
  no([entry({ project_id: web, dr_scope: 'swarm-wide' })]); // swarm-wide bytes live on every gitback envoy
  no([entry({ project_id: pid(EVE, 'vigo-web') })]); // someone else's project
  no([entry({ project_id: web, founder: EVE })]); // a forged entry
  no([entry({ project_id: web })], [{ ...local[0]!, members: [ME, EVE] }]); // eve's puddle may be what holds it
  no([entry({ project_id: web })], []); // not held here: its members are unknown
});
