/**
 * The slow parts of a publish on a worker thread: copying the stacks (an fsync per file)
 * and parsing thousands of `.vgo` files take seconds, which on the event loop would hold up
 * every envoy check-in. The Stacks that come back are plain data (maps, arrays, strings),
 * so they cross by structured clone.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { checkStacks, type Stacks, type StacksProblem } from './stacks-port.js';
import { stageLive, type StagedLive } from './live.js';

type Job = { kind: 'check'; dir: string; wantStacks: boolean } | { kind: 'stage'; stacksDir: string; dataDir: string; staging: { name: string; dir: string } };
interface Checked {
  stacks: Stacks | null;
  problems: StacksProblem[];
}
type Answer = { ok: true; checked: Checked; staged?: StagedLive } | { ok: false; message: string };

function run(job: Job): Promise<{ checked: Checked; staged?: StagedLive }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: job });
    let answered = false;
    const what = job.kind === 'check' ? `validating ${job.dir}` : `copying ${job.stacksDir}`;
    w.once('message', (a: Answer) => {
      answered = true;
      if (a.ok) resolve(a);
      else reject(new Error(`${what}: ${a.message}`));
    });
    w.once('error', (e) => {
      answered = true;
      reject(e);
    });
    w.once('exit', (code) => {
      if (!answered) reject(new Error(`${what}: the worker thread exited (${code}) without an answer`));
    });
  });
}

/** checkStacks(dir) on a worker thread; `wantStacks: false` skips sending the stacks back. */
export async function checkStacksOffThread(dir: string, wantStacks: boolean): Promise<Checked> {
  return (await run({ kind: 'check', dir, wantStacks })).checked;
}

/** stageLive, then checkStacks of the copy, on a worker thread. */
export async function stageAndCheckOffThread(stacksDir: string, dataDir: string, staging: { name: string; dir: string }): Promise<{ staged: StagedLive; checked: Checked }> {
  const r = await run({ kind: 'stage', stacksDir, dataDir, staging });
  return { staged: r.staged as StagedLive, checked: r.checked };
}

if (!isMainThread && parentPort !== null) {
  const job = workerData as Job;
  let a: Answer;
  try {
    if (job.kind === 'check') {
      const r = checkStacks(job.dir);
      a = { ok: true, checked: { stacks: job.wantStacks ? r.stacks : null, problems: r.problems } };
    } else {
      const staged = stageLive(job.stacksDir, job.dataDir, job.staging);
      a = { ok: true, staged, checked: checkStacks(staged.dir) };
    }
  } catch (e) {
    a = { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
  parentPort.postMessage(a);
}
