// Issue 16 item 4, the server's side of renewal over the check-in stream: an envoy renews
// only for the key it enrolled with (a thief who swapped in their own key gets nothing),
// keeps its id, and cannot make the server sign in a loop.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { Fleet, enrollSimulated } from './harness.js';
import { CheckinStream } from '../../src/agent/index.js';
import { createEnvoyCsr, createEnvoyRenewalCsr } from '../../src/wire/enroll.js';

const fleet = new Fleet();
after(() => fleet.cleanup());

test('renewal: same key only, same envoy id, at most one per minute', async () => {
  await fleet.startServer();
  const sim = await enrollSimulated(fleet.admin, 'web-01');
  const stream = new CheckinStream(`127.0.0.1:${fleet.grpcPort}`, sim.tls);
  try {
    await stream.checkin(0, 'x', 10_000);
    // a CSR for another key is refused
    const other = await createEnvoyCsr('web-01');
    await assert.rejects(stream.renew(other.csr, 10_000), /the renewal CSR must be for the key this envoy enrolled with/);
    assert.match(fleet.srv?.out() ?? '', /envoy web-01: renewal refused: the CSR is for another key/);
    // the envoy's own key: a new certificate for the same id and key
    const pem = await stream.renew(await createEnvoyRenewalCsr('web-01', sim.tls.key), 10_000);
    const fresh = new X509Certificate(pem);
    const old = new X509Certificate(sim.tls.cert);
    assert.equal(fresh.subject, `CN=${sim.id}`);
    assert.ok(fresh.publicKey.equals(old.publicKey));
    assert.notEqual(fresh.serialNumber, old.serialNumber);
    assert.ok(fresh.verify(new X509Certificate(sim.tls.ca).publicKey));
    // and not again right away
    await assert.rejects(stream.renew(await createEnvoyRenewalCsr('web-01', sim.tls.key), 10_000), /renewed \d+s ago; retry in \d+s/);
  } finally {
    stream.close();
  }
});
