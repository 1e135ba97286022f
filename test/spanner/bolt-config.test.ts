// server.yaml's spanner section: a bad value stops vigosrv naming the field; a good one
// comes through with its defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerConfig } from '../../src/server/index.js';

function load(spanner: string) {
  const dir = mkdtempSync(join(tmpdir(), 'bolt-cfg-'));
  try {
    const file = join(dir, 'server.yaml');
    writeFileSync(file, `spanner:\n${spanner}`);
    return loadServerConfig(file, { VIGO_ROOT: dir });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const refusal = (spanner: string): string => {
  try {
    load(spanner);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('accepted');
};

test('a spoke section comes through with its gossip defaults', () => {
  const c = load('  mode: spoke\n  spanner_id: acme-prod\n  bolt_id: bolt-b\n  hub_addr: 10.0.0.5:8443\n  advertise: 10.0.0.6:8443\n  patterns: ["db-*"]\n');
  assert.equal(c.spanner.mode, 'spoke');
  assert.equal(c.spanner.advertise, '10.0.0.6:8443');
  assert.equal(c.spanner.gossip_interval_s, 5);
  assert.equal(c.spanner.gossip_fanout, 3);
  assert.equal(load('  peer_listen: ":8444"\n').spanner.peer_listen, ':8444', 'a listen address may be a bare :PORT');
});

test('a bad spanner section is refused naming the field', () => {
  const base = '  mode: hub\n  spanner_id: acme\n  bolt_id: a\n';
  assert.match(refusal(`${base}  advertise: 0.0.0.0:8443\n`), /spanner\.advertise: must be a lowercase HOST:PORT other bolts can dial/);
  assert.match(refusal(`${base}  advertise: ":8443"\n`), /spanner\.advertise: must be HOST:PORT \(a host to dial/);
  assert.match(refusal(`${base}  gossip_fanout: 0\n`), /spanner\.gossip_fanout/);
  assert.match(refusal(`${base}  gossip_interval_s: -1\n`), /spanner\.gossip_interval_s/);
  assert.match(refusal('  mode: hub\n  spanner_id: "acme prod"\n  bolt_id: a\n'), /spanner\.spanner_id: 1-64 of/);
  assert.match(refusal(`${base}  advertize: 10.0.0.5:8443\n`), /spanner: Unrecognized key.*advertize/);
});
