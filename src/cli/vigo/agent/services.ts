/**
 * The services `vigo agent run` starts, in order. Each subsystem adds one line here.
 */
import type { AgentConfig, AgentService } from '../../../agent/index.js';
import { gitbackService } from '../../../gitback/index.js';
import { CheckinService } from '../../../agent/index.js';
import { SwarmReplicator, SwarmService, type SwarmServiceOptions } from '../../../swarm/index.js';
import { systemClock, type Clock } from '../../../platform/clock.js';

/**
 * `clock`: the time the services decide by (the real one, or a simulator's).
 * `swarm`: the swarm service's hooks (`attach` hands the running SwarmNode to whoever fans out pushes).
 */
export function agentServices(_config: AgentConfig, clock: Clock = systemClock, swarm: Omit<SwarmServiceOptions, 'clock'> = {}): AgentService[] {
  const services: AgentService[] = [];
  const gitback = gitbackService(_config, clock);
  services.push(gitback);
  // before the check-in: the swarm assignment the first check-in brings finds it started.
  // While a node runs, the helper daemon's pushes fan out through it; without one they stay local.
  const attach = (node: Parameters<NonNullable<SwarmServiceOptions['attach']>>[0]): void => {
    gitback.setReplicator(node ? new SwarmReplicator(node) : null);
    swarm.attach?.(node);
  };
  const swarmService = new SwarmService(_config, { ...swarm, clock, attach });
  services.push(swarmService);
  // a revoke or leave the reactor just swept goes out to the project's peers at once
  gitback.onEnvelopesSwept(() => swarmService.envelopesSwept());
  const checkin = new CheckinService(_config);
  checkin.onSwarmAssignment((a) => void swarmService.assign(a));
  // a spanner's new bolt CA, or a move: peers of every bolt are trusted without a restart
  checkin.onIdentityChanged(() => swarmService.identityChanged());
  services.push(checkin);
  return services;
}
