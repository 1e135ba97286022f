// In a spanner every bolt has its own CA, and by default they share a subject name
// (`vigo CA <hostname>`). An envoy trusts all of them (its ca.crt bundle) and a bolt's
// check-in listener accepts client certificates of all of them. A verifier holding several
// CAs of one name must pick the one that signed: the certificates name it by key
// (Authority Key Identifier). Real TLS over loopback, both directions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { createCa, createServerCert, signEnvoyCsr } from '../../src/server/index.js';
import { createEnvoyCsr } from '../../src/wire/enroll.js';

test('with two same-named CAs trusted, a server and a client certificate of the second verify both ways', async () => {
  const first = await createCa('vigo CA vigosrv');
  const second = await createCa('vigo CA vigosrv');
  assert.equal(new X509Certificate(first.cert).subject, new X509Certificate(second.cert).subject);
  const server = await createServerCert(second, ['127.0.0.1', 'localhost']);
  const { csr, key } = await createEnvoyCsr('web-01');
  const envoy = await signEnvoyCsr(second, csr, '0f0e0d0c-0000-4000-8000-000000000001');
  const bundle = `${first.cert.trim()}\n${second.cert.trim()}\n`; // the other CA first: the order a bundle can have

  const srv = createServer({ key: server.key, cert: server.cert, ca: bundle, requestCert: true, rejectUnauthorized: true }, (s) => s.end('ok'));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  try {
    const answer = await new Promise<string>((resolve, reject) => {
      const c: TLSSocket = connect({ host: '127.0.0.1', port, ca: bundle, key, cert: envoy.cert, servername: 'localhost' }, () => undefined);
      let got = '';
      c.on('data', (d: Buffer) => (got += d.toString()));
      c.on('end', () => resolve(got));
      c.on('error', reject);
      setTimeout(() => reject(new Error('no answer in 10 s')), 10_000).unref();
    });
    assert.equal(answer, 'ok', 'the server verified the envoy certificate and the envoy the server certificate');
  } finally {
    srv.close();
  }
});
