/**
 * Typed errors for everything an operator can see. `code` is stable (tests and --json
 * match on it); `message` says what is wrong; `hint` says what to do next.
 * The CLI prints `error: <message>` (+ `hint: <hint>`) and exits non-zero — never a stack.
 */
export class VigoError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: string, message: string, opts: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VigoError';
    this.code = code;
    this.hint = opts.hint;
    this.exitCode = opts.exitCode ?? 1;
  }
}

export function isVigoError(e: unknown): e is VigoError {
  return e instanceof VigoError;
}
