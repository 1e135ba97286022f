/**
 * The services `vigo agent run` starts, in order. Each subsystem adds one line here.
 */
import type { AgentConfig, AgentService } from '../../../agent/index.js';
import { gitbackService } from '../../../gitback/index.js';
import { CheckinService } from '../../../agent/index.js';

export function agentServices(_config: AgentConfig): AgentService[] {
  const services: AgentService[] = [];
  services.push(gitbackService(_config));
  services.push(new CheckinService(_config));
  return services;
}
