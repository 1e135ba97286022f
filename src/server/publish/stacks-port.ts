/** The one place the server imports the stacks module (CONTRACTS §4). */
export { validateStacks, loadStacks, checkStacks, resolveBundle, formatProblem, SYMLINK_REFUSED } from '../stacks/index.js';
export type { Stacks, StacksProblem } from '../stacks/index.js';
export type { PolicyBundle } from '../../wire/bundle.js';
