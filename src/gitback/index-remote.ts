/**
 * The narrow surface git-remote-gitback starts from: only what the connect path loads, so
 * the helper's start stays small (issue 9 item 7). Everything else is in index.ts, which the
 * helper imports lazily on the rare paths that need it (a friendly name, a first bind).
 */
export { runRemoteHelper, type RemoteHelperIo } from './remote-helper.js';
export { nameSources } from './names.js';
