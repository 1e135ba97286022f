/** `vigocli auth login --server URL --token T [--ca FILE | --ca-fingerprint HEX]`: one login per server, the newest is the default */
import type { Command } from 'commander';
import { readFileSync, existsSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { api, fetchServerCa, parseServerUrl } from '../../../wire/rest-client.js';
import { VigoError } from '../../../platform/errors.js';
import { saveLogin, loginFile, selectedServer } from '../session.js';

export function registerLogin(auth: Command): void {
  auth
    .command('login')
    .description('Save a server URL and API token for later commands (checks both first); needs the global --server https://HOST:8443. One login is kept per server; the newest is the default')
    .requiredOption('--token <token>', 'an API token (vgot_…)')
    .option('--ca <file>', "the server's CA certificate (srv/vigo/tls/ca.crt on the server)")
    .option('--ca-fingerprint <hex>', 'expected SHA-256 of the CA the server presents (first contact without --ca)')
    .action(async (o: { token: string; ca?: string; caFingerprint?: string }) => {
      // --server is the global flag (commander gives it to the program, wherever it is written)
      const server = selectedServer();
      if (server === undefined) throw new VigoError('E_BAD_URL', 'auth login needs --server https://HOST:8443');
      const url = parseServerUrl(server);
      let ca: string;
      let fp: string;
      if (o.ca) {
        if (!existsSync(o.ca)) throw new VigoError('E_NO_CA', `--ca: no such file ${o.ca}`);
        ca = readFileSync(o.ca, 'utf8');
        fp = new X509Certificate(ca).fingerprint256.replace(/:/g, '').toLowerCase();
      } else {
        const got = await fetchServerCa(url.origin);
        if (o.caFingerprint && got.fingerprint !== o.caFingerprint.toLowerCase().replace(/:/g, '')) {
          throw new VigoError('E_CA_MISMATCH', `the server presented CA sha256 ${got.fingerprint}, not the expected ${o.caFingerprint}`, { hint: 'you may be talking to the wrong server; do not continue' });
        }
        ca = got.pem;
        fp = got.fingerprint;
        if (!o.caFingerprint) process.stderr.write(`trusting the server's CA on first use: sha256 ${fp}\n(compare with \`openssl x509 -noout -fingerprint -sha256 -in srv/vigo/tls/ca.crt\` on the server)\n`);
      }
      const who = await api<{ name: string; role: string; expires_at: string | null }>({ server: url.origin, ca, token: o.token }, 'GET', '/api/v1/auth/whoami');
      saveLogin({ server: url.origin, token: o.token, ca, ca_fingerprint: fp });
      process.stdout.write(`Logged in to ${url.origin} as ${who.name} (${who.role})${who.expires_at ? `, token expires ${who.expires_at}` : ''}\nSaved to ${loginFile()}\n`);
    });
}
