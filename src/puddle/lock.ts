/**
 * One writer at a time per puddle directory: `.lock` holds the owner's pid and its start
 * time (from /proc, so a recycled pid is not mistaken for the owner). A lock left by a
 * process that died (kill -9) is taken over.
 */
import { openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { VigoError } from '../platform/errors.js';

/** The kernel's start time of a process (clock ticks since boot), or null if it is gone. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name (which may contain spaces) start after the last ')'
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22 overall
  } catch {
    return null;
  }
}

/** The short command name of a process (/proc/<pid>/comm), for messages; null if unknown. */
export function processName(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

export function processAlive(pid: number, startTime: string | null): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  const now = processStartTime(pid);
  if (now === null) {
    try {
      process.kill(pid, 0);
      return startTime === null; // no /proc: fall back to kill(0)
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM' && startTime === null;
    }
  }
  return startTime === null || now === startTime;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function withDirLockSync<T>(lockPath: string, fn: () => T, waitMs = 10_000): T {
  const release = acquire(lockPath, waitMs);
  try {
    return fn();
  } finally {
    release();
  }
}

export async function withDirLock<T>(lockPath: string, fn: () => Promise<T>, waitMs = 10_000): Promise<T> {
  const release = acquire(lockPath, waitMs);
  try {
    return await fn();
  } finally {
    release();
  }
}

function acquire(lockPath: string, waitMs: number): () => void {
  const me = `${process.pid} ${processStartTime(process.pid) ?? '-'}\n`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      writeSync(fd, me);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(lockPath, 'utf8') === me) unlinkSync(lockPath);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = '';
    try {
      holder = readFileSync(lockPath, 'utf8');
    } catch {
      continue; // released between our open and read
    }
    const [pidS, start] = holder.trim().split(' ');
    const pid = Number(pidS);
    if (!processAlive(pid, start === undefined || start === '-' ? null : start)) {
      try {
        if (readFileSync(lockPath, 'utf8') === holder) unlinkSync(lockPath);
      } catch {
        /* someone else took it over */
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new VigoError('E_PUDDLE_BUSY', `the puddle is busy: process ${pid} holds ${lockPath}`, {
        hint: 'wait for the other vigo swarm puddle command to finish, then retry',
      });
    }
    sleepSync(50);
  }
}
