/** `vigo agent enroll --server URL --token T [--hostname H] [--force]` */
import type { Command } from 'commander';
import { enrollEnvoy } from '../../../agent/enroll.js';
import { identityFiles } from '../../../agent/checkin/identity.js';

export function registerEnroll(agent: Command): void {
  agent
    .command('enroll')
    .description('Enroll this envoy with a vigosrv using a one-time token')
    .requiredOption('--server <url>', 'the server REST URL, https://HOST:8443')
    .requiredOption('--token <token>', 'one-time enrollment token (vigocli enroll token create)')
    .option('--hostname <name>', 'the hostname the server matches stacks against (default: this host)')
    .option('--force', 'replace an existing enrollment')
    .action(async (o: { server: string; token: string; hostname?: string; force?: boolean }) => {
      const id = await enrollEnvoy({ server: o.server, token: o.token, ...(o.hostname ? { hostname: o.hostname } : {}), ...(o.force ? { force: true } : {}) });
      process.stdout.write(`Enrolled as ${id.hostname}\nEnvoy ID: ${id.envoy_id}\nCheck-in: ${id.grpc_addr} (mTLS)\nIdentity: ${identityFiles().dir}\nStart the agent: vigo agent run\n`);
    });
}
