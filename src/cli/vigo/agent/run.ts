/** `vigo agent run`: the envoy daemon in the foreground. */
import type { Command } from 'commander';
import { defaultAgentConfigPath, loadAgentConfig, startAgent } from '../../../agent/index.js';
import { agentServices } from './services.js';

export function registerRun(agent: Command): void {
  agent
    .command('run')
    .description('Run the envoy daemon in the foreground (root; or any user under VIGO_ROOT)')
    .option('--config <file>', 'agent config file', defaultAgentConfigPath(process.env))
    .action(async (opts: { config: string }) => {
      const config = loadAgentConfig(opts.config);
      const log = (msg: string) => process.stderr.write(`${new Date().toISOString()} vigo-agent: ${msg}\n`);
      const running = await startAgent(agentServices(config), { config, env: process.env, log });
      log('running');
      await new Promise<void>((resolve) => {
        const done = () => resolve();
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      log('stopping');
      await running.stop();
    });
}
