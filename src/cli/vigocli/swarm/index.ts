/** `vigocli swarm gitback …` and `vigocli swarm puddle …`: the fleet's read-only view of the swarm (issue 14). */
import type { Command } from 'commander';
import { group } from '../../run.js';
import { registerGitbackStatus } from './gitback-status.js';
import { registerGitbackList } from './gitback-list.js';
import { registerGitbackShow } from './gitback-show.js';
import { registerGitbackMembers } from './gitback-members.js';
import { registerPuddleList } from './puddle-list.js';
import { registerPuddleShow } from './puddle-show.js';

export function registerSwarm(program: Command): void {
  const s = group(program, 'swarm', "The fleet's view of the swarm (read-only, from the envoys' reported traits)");
  const g = group(s, 'gitback', 'Gitback projects across the fleet');
  registerGitbackStatus(g);
  registerGitbackList(g);
  registerGitbackShow(g);
  registerGitbackMembers(g);
  const p = group(s, 'puddle', 'Puddles across the fleet');
  registerPuddleList(p);
  registerPuddleShow(p);
}
