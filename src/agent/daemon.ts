/**
 * `vigo agent run`: the envoy daemon. It is a set of services (the gitback helper daemon
 * and reactors, the check-in loop, the swarm peer server, …) started together and stopped
 * together on SIGINT/SIGTERM. Each subsystem contributes one service in services.ts.
 */
import type { AgentConfig } from './config.js';

export interface AgentContext {
  config: AgentConfig;
  env: NodeJS.ProcessEnv;
  log: (msg: string) => void;
}

export interface AgentService {
  readonly name: string;
  start(ctx: AgentContext): Promise<void>;
  stop(): Promise<void>;
}

export interface RunningAgent {
  stop(): Promise<void>;
}

export async function startAgent(services: AgentService[], ctx: AgentContext): Promise<RunningAgent> {
  const started: AgentService[] = [];
  try {
    for (const s of services) {
      await s.start(ctx);
      started.push(s);
      ctx.log(`started ${s.name}`);
    }
  } catch (e) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    throw e;
  }
  return {
    async stop() {
      for (const s of [...started].reverse()) {
        await s.stop().catch((e: unknown) => ctx.log(`stopping ${s.name}: ${e instanceof Error ? e.message : String(e)}`));
      }
    },
  };
}
