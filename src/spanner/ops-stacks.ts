/**
 * The stacks project (docs/spanner.md "The stacks project"): a gitback project owned by the
 * ops-puddle (project id = sha256(ops-puddle pubkey ‖ "stacks"), members-only), whose
 * local state on each member vigosrv lives under `<ops-puddle-dir>/.vigo-gitback/<pid>/`,
 * root-owned, and whose bytes live in the envoy agent's gitback store on the same host
 * (`<gitback-base>/projects/<pid>.git`). The chain each host holds is
 * [ops-puddle bootstrap, member token for this host's service-account puddle], minted by
 * the service-account helper (FOUND_OPS_PROJECT) so the ops-puddle key is opened only there.
 */
import { cpSync, lstatSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VigoError } from '../platform/errors.js';
import { ensureBareRepo, git, gitEnv, hasProject, saveProject, type ProjectConfig } from '../gitback/index.js';
import { checkToken, projectId, fromHex, type TokenChain } from '../trust/index.js';
import { OPS_PROJECT_HANDLE, OPS_PROJECT_SCOPE } from '../wire/ops-puddle.js';
import { requireOps, type OpsPuddleStatus } from './ops-puddle.js';
import { foundOpsProject, requireOpsHelper } from './ops-helper-client.js';

export const stacksBase = (opsDir: string): string => join(opsDir, '.vigo-gitback');
export const stacksProjectId = (opsPubkey: string): string => projectId(fromHex(opsPubkey), OPS_PROJECT_HANDLE);
export const shortId = (pid: string): string => `${pid.slice(0, 8)}…${pid.slice(-4)}`;

export interface StacksOptions {
  opsDir: string;
  socket: string;
  gitbackBase: string;
  env: NodeJS.ProcessEnv;
  /** unix seconds */
  now: number;
}

function refuseTracked(opsDir: string, pid: string): void {
  if (hasProject(stacksBase(opsDir), pid)) {
    throw new VigoError('E_STACKS_EXISTS', `the stacks project ${pid} is already locally tracked (${join(stacksBase(opsDir), pid)}/)`, { hint: 'nothing to do: see `vigo swarm gitback status` on this host' });
  }
}

/** Writes this host's state for the stacks project from the helper's chain. */
async function writeState(o: StacksOptions, ops: OpsPuddleStatus): Promise<{ pid: string; dir: string; self: string }> {
  const status = await requireOpsHelper(o.socket);
  const f = await foundOpsProject(o.socket);
  const pid = stacksProjectId(ops.pubkey);
  const chain = f.chain.map((t, i) => checkToken(t, `FOUND_OPS_PROJECT chain[${i}]`)) as TokenChain;
  if (f.project_id !== pid || f.founder !== ops.pubkey || chain[1]?.subject !== status.pubkey) {
    throw new VigoError('E_OPS_BAD_ANSWER', 'the service-account helper minted a chain for another project or key; nothing written');
  }
  const config: ProjectConfig = {
    version: 1,
    project_id: pid,
    handle: OPS_PROJECT_HANDLE,
    founder: ops.pubkey,
    scope: OPS_PROJECT_SCOPE,
    members: [ops.pubkey, ...ops.members],
    role: 'member',
    created_at: o.now,
    cross_subnet_members: [],
    tombstoned_at: null,
    successor: null,
  };
  const dir = saveProject(stacksBase(o.opsDir), { config, chain, delegations: [] });
  return { pid, dir, self: status.pubkey };
}

function treeBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === '.git') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) n += treeBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

export interface StacksInitResult {
  url: string;
  project_id: string;
  source: string;
  bare_repo: string;
  commits: number;
  bytes: number;
  state_dir: string;
}

/** `spanner stacks init`: the caller checked spanner mode and the vault; this checks the rest and imports `source`. */
export async function stacksInit(o: StacksOptions & { source: string }): Promise<StacksInitResult> {
  const ops = requireOps(o.opsDir);
  const pid = stacksProjectId(ops.pubkey);
  refuseTracked(o.opsDir, pid);
  let st;
  try {
    st = lstatSync(o.source);
  } catch {
    throw new VigoError('E_STACKS_NO_SOURCE', `--source ${o.source} does not exist`, { hint: 'point --source at the stacks directory (default /srv/vigo/stacks)' });
  }
  if (!st.isDirectory()) throw new VigoError('E_STACKS_NO_SOURCE', `--source ${o.source} is not a directory`);
  await requireOpsHelper(o.socket); // before anything is written
  const env = { ...gitEnv(o.env), GIT_AUTHOR_NAME: ops.name, GIT_AUTHOR_EMAIL: `${ops.name}@ops-puddle`, GIT_COMMITTER_NAME: ops.name, GIT_COMMITTER_EMAIL: `${ops.name}@ops-puddle` };
  const bare = join(o.gitbackBase, 'projects', `${pid}.git`);
  const work = mkdtempSync(join(tmpdir(), 'vigo-stacks-init-'));
  let bytes: number;
  try {
    cpSync(o.source, work, { recursive: true, filter: (s) => !s.split('/').includes('.git') });
    bytes = treeBytes(work);
    git(['init', '--quiet', '--initial-branch=main'], env, { cwd: work });
    git(['add', '.'], env, { cwd: work });
    git(['commit', '--quiet', '--allow-empty', '-m', 'stacks init'], env, { cwd: work });
    ensureBareRepo(bare, env);
    git(['push', '--quiet', `file://${bare}`, 'HEAD:refs/heads/main'], env, { cwd: work });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const s = await writeState(o, ops);
  return { url: `gitback://${ops.name}/${OPS_PROJECT_HANDLE}`, project_id: pid, source: o.source, bare_repo: bare, commits: 1, bytes, state_dir: s.dir };
}

/** `spanner stacks join`: state only; catch-up brings the bytes from a member. */
export async function stacksJoin(o: StacksOptions): Promise<{ project_id: string; state_dir: string }> {
  const ops = requireOps(o.opsDir);
  refuseTracked(o.opsDir, stacksProjectId(ops.pubkey));
  const s = await writeState(o, ops);
  return { project_id: s.pid, state_dir: s.dir };
}
