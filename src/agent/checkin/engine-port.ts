/** The one place the check-in loop imports the convergence engine (CONTRACTS §3). */
export { converge, parseBundle, agentConvergeOptions } from '../engine/index.js';
export type { PolicyBundle, RunReport, ConvergeOptions } from '../engine/index.js';
