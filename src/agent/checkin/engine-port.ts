/** The one place the check-in loop imports the convergence engine (CONTRACTS §3). */
export { converge, parseBundle } from './interim-engine.js';
export type { PolicyBundle, RunReport, ConvergeOptions } from './interim-engine.js';
