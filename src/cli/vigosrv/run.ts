/** `vigosrv [run]`: start the server in the foreground; stops cleanly on SIGINT/SIGTERM. */
import type { Command } from 'commander';
import { defaultConfigFile, loadServerConfig, startServer, type RunningServer } from '../../server/index.js';
import { VigoError } from '../../platform/errors.js';

/** How long a failed start may take to wind down before the process exits regardless. */
const FAILED_START_EXIT_MS = 3000;

/** Turn the two start-up failures an operator meets most into what to do about them. */
function explain(e: unknown, config: ReturnType<typeof loadServerConfig>): never {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'EACCES' || err?.code === 'EPERM') {
    throw new VigoError('E_PERMISSION', `${err.message}`, { hint: `run vigosrv as root, or set VIGO_ROOT (or server.data_dir) to a directory you own; data dir is ${config.dataDir}` });
  }
  if (err?.code === 'EADDRINUSE' || /EADDRINUSE|No address added/.test(String(err?.message))) {
    throw new VigoError('E_ADDR_IN_USE', `cannot listen: ${err.message}`, { hint: `another process holds ${config.server.api_listen} or ${config.server.grpc_listen}; change server.api_listen / server.grpc_listen` });
  }
  throw e;
}

export async function runServer(opts: { config?: string }): Promise<void> {
  const config = loadServerConfig(opts.config ?? defaultConfigFile(process.env), process.env);
  let srv: RunningServer;
  try {
    srv = await startServer(config, { env: process.env });
  } catch (e) {
    // startServer released what it had started; should anything still hold the event loop,
    // exit anyway once the error is printed (an unref'd timer fires only if something does)
    setTimeout(() => process.exit(process.exitCode ?? 1), FAILED_START_EXIT_MS).unref();
    explain(e, config);
  }
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
