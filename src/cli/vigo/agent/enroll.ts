/** `vigo agent enroll --server URL [--token-file F | VIGO_ENROLL_TOKEN | stdin] [--hostname H] [--force]` */
import type { Command } from 'commander';
import { enrollEnvoy, resolveEnrollToken, identityFiles } from '../../../agent/index.js';

export function registerEnroll(agent: Command): void {
  agent
    .command('enroll')
    .description('Enroll this envoy with a vigosrv using a one-time token (read from a file, stdin or VIGO_ENROLL_TOKEN)')
    .requiredOption('--server <url>', 'the server REST URL, https://HOST:8443')
    .option('--token-file <file>', "file holding the one-time token (vigocli enroll token create); '-' reads stdin")
    .option('--token <token>', 'the token itself (discouraged: other local users can read it from the process list)')
    .option('--hostname <name>', 'the hostname the server matches stacks against (default: this host)')
    .option('--force', 'replace an existing enrollment')
    .addHelpText('after', '\nThe token is read, first that applies, from --token-file, $VIGO_ENROLL_TOKEN, --token, or stdin when it is not a terminal.')
    .action(async (o: { server: string; token?: string; tokenFile?: string; hostname?: string; force?: boolean }) => {
      const token = await resolveEnrollToken(
        { ...(o.token !== undefined ? { token: o.token } : {}), ...(o.tokenFile !== undefined ? { tokenFile: o.tokenFile } : {}) },
        { env: process.env, stdin: process.stdin, warn: (m) => process.stderr.write(`${m}\n`) },
      );
      const id = await enrollEnvoy({ server: o.server, token, ...(o.hostname ? { hostname: o.hostname } : {}), ...(o.force ? { force: true } : {}), env: process.env });
      process.stdout.write(`Enrolled as ${id.hostname}\nEnvoy ID: ${id.envoy_id}\nCheck-in: ${id.grpc_addr} (mTLS)\nIdentity: ${identityFiles(process.env).dir}\nStart the agent: vigo agent run\n`);
    });
}
