/**
 * The services `vigo agent run` starts, in order. Each subsystem adds one line here.
 */
import type { AgentConfig, AgentService } from '../../../agent/index.js';
import { gitbackService } from '../../../gitback/index.js';
import { CheckinService } from '../../../agent/index.js';
import { systemClock, type Clock } from '../../../platform/clock.js';

/** `clock`: the time the services decide by (the real one, or a simulator's) */
export function agentServices(_config: AgentConfig, clock: Clock = systemClock): AgentService[] {
  const services: AgentService[] = [];
  services.push(gitbackService(_config, clock));
  services.push(new CheckinService(_config));
  return services;
}
