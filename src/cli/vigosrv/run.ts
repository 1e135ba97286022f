/** `vigosrv [run]`: start the server in the foreground; stops cleanly on SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { defaultConfigFile, loadServerConfig } from '../../server/config.js';
import { startServer } from '../../server/server.js';

export async function runServer(opts: { config?: string }): Promise<void> {
  const config = loadServerConfig(opts.config ?? defaultConfigFile());
  const srv = await startServer(config);
  process.stdout.write(`vigosrv ready: rest ${srv.restUrl} grpc port ${srv.grpcPort} config version ${srv.ctx.policy.version} data ${config.dataDir}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await srv.stop();
}

export function registerRun(program: Command): void {
  program
    .command('run', { isDefault: true })
    .description('Run the server in the foreground (reads ./server.yaml or $VIGO_CONFIG_FILE)')
    .option('--config <file>', 'server.yaml to read')
    .action(runServer);
}
