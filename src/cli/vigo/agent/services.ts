/**
 * The services `vigo agent run` starts, in order. Each subsystem adds one line here.
 */
import type { AgentConfig } from './config.js';
import type { AgentService } from './daemon.js';
import { gitbackService } from '../gitback/daemon/service.js';
import { CheckinService } from './checkin/service.js';

export function agentServices(_config: AgentConfig): AgentService[] {
  const services: AgentService[] = [];
  services.push(gitbackService(_config));
  services.push(new CheckinService(_config));
  return services;
}
