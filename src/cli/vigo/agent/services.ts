/**
 * The services `vigo agent run` starts, in order. Each subsystem adds one line here.
 */
import type { AgentConfig, AgentService } from '../../../agent/index.js';
import { gitbackService } from '../../../gitback/index.js';
import { CheckinService } from '../../../agent/index.js';
import { SwarmService, type SwarmServiceOptions } from '../../../swarm/index.js';
import { systemClock, type Clock } from '../../../platform/clock.js';

/**
 * `clock`: the time the services decide by (the real one, or a simulator's).
 * `swarm`: the swarm service's hooks (`attach` hands the running SwarmNode to whoever fans out pushes).
 */
export function agentServices(_config: AgentConfig, clock: Clock = systemClock, swarm: Omit<SwarmServiceOptions, 'clock'> = {}): AgentService[] {
  const services: AgentService[] = [];
  services.push(gitbackService(_config, clock));
  // before the check-in: the swarm assignment the first check-in brings finds it started
  const swarmService = new SwarmService(_config, { ...swarm, clock });
  services.push(swarmService);
  const checkin = new CheckinService(_config);
  checkin.onSwarmAssignment((a) => void swarmService.assign(a));
  services.push(checkin);
  return services;
}
