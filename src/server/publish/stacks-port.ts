/** The one place the server imports the stacks module (CONTRACTS §4). */
export { validateStacks, loadStacks, resolveBundle } from './interim-stacks.js';
export type { Stacks, StacksProblem, PolicyBundle } from './interim-stacks.js';
