// Issue 16 item 4: certificates were never renewed, so after 825 days every envoy went
// silent. With short lifetimes (pki.* in server.yaml) an operator watches: the server
// renews its own certificate and new REST and gRPC handshakes get the new one without a
// restart; a running envoy renews its client certificate over its check-in stream and
// keeps checking in — across a server restart — after its original certificate expired;
// an envoy that does not renew shows up in `server status` and /metrics as near expiry,
// then expired.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fleet, enrollSimulated, waitFor, type EnvoyJson } from '../server/harness.js';
import { CheckinStream } from '../../src/agent/index.js';
import type { CertificateStatus } from '../../src/server/index.js';

const LIFETIME_S = 45;
const YAML = `checkin:\n  interval: 1s\ndatabase:\n  flush_interval_ms: 200\npki:\n  server_cert_lifetime_s: ${LIFETIME_S}\n  envoy_cert_lifetime_s: ${LIFETIME_S}\n`;

const fleet = new Fleet();
after(() => fleet.cleanup());

const cert = (pem: string) => new X509Certificate(pem);
const sleepUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms - Date.now())));

/** The certificate a fresh TLS handshake with the REST listener presents. */
function restCert(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'vigosrv', rejectUnauthorized: false }, () => {
      const c = s.getPeerX509Certificate();
      s.end();
      if (c) resolve(c);
      else reject(new Error('no peer certificate'));
    });
    s.on('error', reject);
  });
}

async function envoy(name: string): Promise<EnvoyJson> {
  return (await fleet.api<{ envoy: EnvoyJson }>('GET', `/api/v1/envoys/${name}`)).envoy;
}

test('server and envoy certificates renew before expiry; the envoy keeps checking in past its first certificate', async () => {
  await fleet.startServer(YAML);
  const tlsDir = join(fleet.dataDir, 'tls');
  const srv0 = cert(readFileSync(join(tlsDir, 'server.crt'), 'utf8'));
  assert.equal((await restCert(fleet.restPort)).serialNumber, srv0.serialNumber);

  await fleet.enroll('web-01');
  const envoyCrt = join(fleet.envoyRoot('web-01'), 'etc', 'vigo-envoy', 'envoy.crt');
  const env0 = cert(readFileSync(envoyCrt, 'utf8'));
  assert.ok(Date.parse(env0.validTo) - Date.now() <= LIFETIME_S * 1000 + 1000, 'pki.envoy_cert_lifetime_s sets the lifetime');
  // an envoy that never renews (enrolled in-process, no agent): the one status must flag
  await enrollSimulated(fleet.admin, 'web-stale');

  const agent = fleet.startAgent('web-01');
  await waitFor('web-01 connected', async () => (await envoy('web-01')).connected, 30_000);

  // the envoy renews over its stream, same key, before its certificate expires
  await waitFor('the agent renews its certificate', () => agent.out().includes('checkin: renewed the client certificate'), LIFETIME_S * 1000 + 30_000, 200);
  const env1 = cert(readFileSync(envoyCrt, 'utf8'));
  assert.notEqual(env1.serialNumber, env0.serialNumber);
  assert.ok(env1.publicKey.equals(env0.publicKey), 'renewal keeps the key');
  assert.ok(Date.parse(env1.validTo) > Date.parse(env0.validTo));
  assert.match(fleet.srv?.out() ?? '', /envoy web-01: renewed its certificate \(serial/);

  // past both original expiries
  await sleepUntil(Math.max(Date.parse(env0.validTo), Date.parse(srv0.validTo)) + 2000);

  // the server renewed its own certificate, and new handshakes get it without a restart
  const srv1 = cert(readFileSync(join(tlsDir, 'server.crt'), 'utf8'));
  assert.notEqual(srv1.serialNumber, srv0.serialNumber, 'server.crt was reissued');
  assert.equal((await restCert(fleet.restPort)).serialNumber, srv1.serialNumber, 'REST serves the renewed certificate');
  assert.match(fleet.srv?.out() ?? '', /server certificate .* expires .*: renewing it/);
  // a fresh gRPC channel with the envoy's renewed identity: both ends' new certificates verify
  const ident = join(fleet.envoyRoot('web-01'), 'etc', 'vigo-envoy');
  const probe = new CheckinStream(`127.0.0.1:${fleet.grpcPort}`, { ca: readFileSync(join(ident, 'ca.crt')), key: readFileSync(join(ident, 'envoy.key')), cert: readFileSync(envoyCrt) });
  try {
    const m = await probe.checkin(0, 'probe', 10_000);
    assert.ok(m.ack || m.bundle, 'the gRPC listener accepted a new handshake after the original server certificate expired');
  } finally {
    probe.close();
  }

  const renewals = await fleet.apiRaw<string>('GET', '/metrics');
  assert.match(String(renewals.body), /vigosrv_envoy_cert_renewals_total [1-9]/);

  // the envoy is still checking in
  const seen1 = Date.parse((await envoy('web-01')).last_seen ?? '');
  await waitFor('web-01 checks in after its first certificate expired', async () => Date.parse((await envoy('web-01')).last_seen ?? '') > seen1, 20_000, 200);

  // a restart forces a new handshake: the agent reconnects with the certificate it renewed
  await fleet.stopServer();
  const restarted = Date.now();
  await fleet.startServer(YAML);
  await waitFor('web-01 reconnects after the restart', async () => {
    const e = await envoy('web-01');
    return e.connected && Date.parse(e.last_seen ?? '') > restarted;
  }, 60_000, 200);
  assert.doesNotMatch(agent.out(), /the server refuses this envoy/);

  // the envoy that never renewed is reported, first past its renewal point, now expired
  const st = await fleet.api<{ certificates: CertificateStatus }>('GET', '/api/v1/status');
  assert.equal(st.certificates.envoys.expired, 1);
  assert.deepEqual(st.certificates.envoys.near_expiry.map((n) => [n.hostname, n.expired]), [['web-stale', true]]);
  assert.ok(st.certificates.server && st.certificates.server.expires_in_s > 0);
  const cli = fleet.cli('vigocli.js', ['server', 'status']);
  assert.equal(cli.status, 0, cli.stderr);
  assert.match(cli.stdout, /envoys: 0 past their renewal point, 1 expired/);
  assert.match(cli.stdout, /EXPIRED: web-stale/);
  const metrics = await fleet.apiRaw<string>('GET', '/metrics');
  assert.match(String(metrics.body), /vigosrv_envoy_certs_near_expiry\{state="expired"\} 1/);
  assert.match(String(metrics.body), /vigosrv_server_cert_expiry_seconds \d/);
});
