/**
 * A time limit on a stage's work, as a signal: when it passes, the signal aborts with a
 * TimeLimitError (simulator threads stop; the job fails with that reason and its budget is
 * released). Every runtime that has a limit uses it: the Knative stage server (its own
 * limit) and the Lambda runtime (the function's remaining time).
 */
import { TimeLimitError } from '../errors.ts';

/** A running limit; clear it when the work finishes first. */
export interface TimeLimit {
  readonly signal: AbortSignal;
  clear(): void;
}

/** Starts a limit of `ms` whose abort reason says `reason`. */
export function startTimeLimit(ms: number, reason: string): TimeLimit {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new TimeLimitError(reason)), ms);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
