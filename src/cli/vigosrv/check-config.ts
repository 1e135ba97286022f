/** `vigosrv check-config`: validate server.yaml and print the resolved paths. */
import type { Command } from 'commander';
import { defaultConfigFile, loadServerConfig } from '../../server/index.js';

export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description('Validate server.yaml (every section, including spanner) and exit')
    .option('--config <file>', 'server.yaml to read')
    .action((opts: { config?: string }) => {
      const c = loadServerConfig(opts.config ?? defaultConfigFile(process.env), process.env);
      process.stdout.write(`${c.file ?? '(no server.yaml: defaults)'}: ok\n  data ${c.dataDir}\n  stacks ${c.stacksDir}\n  database ${c.dbPath}\n  api ${c.server.api_listen}  grpc ${c.server.grpc_listen}  check-in every ${c.checkin.interval}\n  tls cert ${c.tls.cert}  key ${c.tls.key}  ca ${c.tls.ca}  ca key ${c.tls.caKey}\n  spanner mode ${c.spanner.mode}\n`);
    });
}
