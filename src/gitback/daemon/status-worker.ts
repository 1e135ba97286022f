/**
 * The daemon's status scan, in a worker thread: it reads every user's state and sizes
 * the bare repos with blocking calls, so it must never run on the daemon's event loop
 * (a slow scan would stall every git session). See status-service.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { collectStatus, type RepoFigures } from '../status.js';
import { readPasswd } from '../passwd.js';
import { ownedReader } from '../state.js';

export interface StatusJob {
  env: Record<string, string | undefined>;
  passwdFile: string;
  maxRepos: number;
  maxEntries: number;
  figures: Map<string, RepoFigures>;
  /** the daemon's clock when it started the scan */
  nowMs: number;
}

const job = workerData as StatusJob;
const holders = readPasswd(job.passwdFile).map((u) => ({ home: u.home, read: ownedReader(u.uid) }));
const status = collectStatus(job.env, holders, false, { maxRepos: job.maxRepos, maxEntries: job.maxEntries, figures: job.figures, nowMs: job.nowMs });
parentPort?.postMessage({ status, figures: job.figures, nowMs: job.nowMs });
