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
      process.stdout.write(`${c.file ?? '(no server.yaml: defaults)'}: ok\n  data ${c.dataDir}\n  stacks ${c.stacksDir}\n  database ${c.dbPath}\n  rest ${c.server.rest_listen}  grpc ${c.server.grpc_listen}\n  spanner mode ${c.spanner.mode}\n`);
    });
}
