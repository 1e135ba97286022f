/**
 * Test hook for crash safety: when VIGO_TEST_CRASH_AT names this step, the process
 * SIGKILLs itself right here, exactly as `kill -9` would. Tests use it to prove that a
 * crash at any step of init, rotate-passphrase or rekey-pair leaves the old state or the
 * new. It has no other effect, so it is harmless outside tests (documented in docs/puddle.md).
 */
export interface CrashEnv {
  readonly VIGO_TEST_CRASH_AT?: string | undefined;
}

/** For recovering a change another run began: no crash point fires there. */
export const NO_CRASH_POINTS: CrashEnv = {};

/** @param env the entry point's environment, threaded down to here */
export function crashPoint(step: string, env: CrashEnv): void {
  if (env.VIGO_TEST_CRASH_AT === step) process.kill(process.pid, 'SIGKILL');
}
