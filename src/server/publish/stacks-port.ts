/** The one place the server imports the stacks module (CONTRACTS §4). */
export { validateStacks, loadStacks, resolveBundle } from '../stacks/index.js';
export type { Stacks, StacksProblem } from '../stacks/index.js';
export type { PolicyBundle } from '../../agent/engine/index.js';
