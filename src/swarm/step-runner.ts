/**
 * Drives a pure machine's steps with real time, for SwarmNode and EnvelopeNode: each
 * output is performed without waiting (tracked until it settles, a failure handed to
 * `onError`), and one timer is armed at the step's wake-up to call `wake`, the owner's tick.
 * The owner decides when it is closed; `cancel` and `settled` are its half of closing.
 */
import type { Clock } from '../platform/clock.js';

export interface StepRunnerOptions<O> {
  clock: Clock;
  perform: (out: O) => Promise<void>;
  onError: (e: unknown) => void;
  wake: () => void;
}

export class StepRunner<O> {
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: StepRunnerOptions<O>) {}

  run(step: { readonly outputs: readonly O[]; readonly wakeAt: number | null }): void {
    for (const out of step.outputs) {
      const p = this.o.perform(out).catch((e: unknown) => this.o.onError(e));
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    }
    this.cancel();
    if (step.wakeAt !== null) {
      const wait = Math.min(2 ** 31 - 1, Math.max(0, step.wakeAt - this.o.clock.now()));
      this.timer = setTimeout(() => this.o.wake(), wait);
      this.timer.unref();
    }
  }

  /** No wake-up pending. */
  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Resolves once every output under way has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
