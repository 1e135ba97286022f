/**
 * Validating a stacks tree on a worker thread: parsing thousands of `.vgo` files takes about
 * a second of CPU, which on the event loop would hold up every envoy check-in. The Stacks
 * that come back are plain data (maps, arrays, strings), so they cross by structured clone.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { checkStacks, type Stacks, type StacksProblem } from './stacks-port.js';

interface Job {
  dir: string;
  wantStacks: boolean;
}
type Answer = { ok: true; stacks: Stacks | null; problems: StacksProblem[] } | { ok: false; message: string };

/** checkStacks(dir) on a fresh worker thread; `wantStacks: false` skips sending the stacks back. */
export function checkStacksOffThread(dir: string, wantStacks: boolean): Promise<{ stacks: Stacks | null; problems: StacksProblem[] }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: { dir, wantStacks } satisfies Job });
    let answered = false;
    w.once('message', (a: Answer) => {
      answered = true;
      if (a.ok) resolve({ stacks: a.stacks, problems: a.problems });
      else reject(new Error(`validating ${dir}: ${a.message}`));
    });
    w.once('error', (e) => {
      answered = true;
      reject(e);
    });
    w.once('exit', (code) => {
      if (!answered) reject(new Error(`validating ${dir}: the worker thread exited (${code}) without an answer`));
    });
  });
}

if (!isMainThread && parentPort !== null) {
  const job = workerData as Job;
  let a: Answer;
  try {
    const r = checkStacks(job.dir);
    a = { ok: true, stacks: job.wantStacks ? r.stacks : null, problems: r.problems };
  } catch (e) {
    a = { ok: false, message: e instanceof Error ? e.message : String(e) };
  }
  parentPort.postMessage(a);
}
