/**
 * How long an approval's reservation may stand: long enough for the job to wait its turn and
 * run within every time limit qpipe puts on it, and no longer, so a reservation left by a run
 * that died (a killed process, pod or Lambda) is reclaimed rather than held for ever.
 */
import type { QpipeConfig } from '../config.ts';
import type { BackendType } from '../resources/schema.ts';
import type { LedgerState } from './ledger.ts';

/** The deployment's time limits a job runs within. */
export interface TimeLimits {
  /** How long one attempt of a stage may work on one event. */
  readonly stageTimeoutSeconds: number;
  /** Attempts at one event before its job is failed. */
  readonly maxAttempts: number;
  /** How long a provider task is polled before its job is failed. */
  readonly pollDeadlineSeconds: number;
}

/** The time limits a deployment's configuration sets. */
export function timeLimitsOf(
  config: Pick<QpipeConfig, 'stageTimeoutSeconds' | 'maxAttempts'> & {
    readonly providers: { readonly poll: { readonly deadlineSeconds: number } };
  },
): TimeLimits {
  return {
    stageTimeoutSeconds: config.stageTimeoutSeconds,
    maxAttempts: config.maxAttempts,
    pollDeadlineSeconds: config.providers.poll.deadlineSeconds,
  };
}

/** The most a job can take to run once it starts: every attempt of execute, and a provider's task until its poll deadline. */
export function runAllowanceMs(backendType: BackendType, limits: TimeLimits): number {
  const attempts = limits.stageTimeoutSeconds * limits.maxAttempts;
  const provider = backendType === 'local_simulator' ? 0 : limits.pollDeadlineSeconds;
  return 1000 * (attempts + provider);
}

/**
 * When an approval made at `now` expires: the run allowance twice over, once to wait for its
 * turn and once to run. execute starts a run only while a whole allowance is left, so a run
 * that started always ends before its reservation can expire.
 */
export function reservationExpiry(now: number, allowanceMs: number): number {
  return now + 2 * allowanceMs;
}

/**
 * Why a run may not start on its reservation, or undefined when it may: the reservation was
 * reclaimed (the run was taken for dead), or less than a whole run allowance is left of it, so
 * the run could outlive it. A job settled already is not asked (its result is being re-sent).
 */
export function reservationProblem(
  state: LedgerState,
  jobKey: string,
  options: { readonly now: number; readonly allowanceMs: number },
): string | undefined {
  if (state.charges[jobKey]) return undefined;
  const reclaimed = state.reclaimed?.[jobKey];
  if (reclaimed) return `its reservation was taken back: ${reclaimed.why}`;
  const held = state.reservations[jobKey];
  if (!held) return 'it holds no reservation in its budget';
  if (held.expiresAt !== undefined && held.expiresAt - options.now < options.allowanceMs) {
    return `it waited too long to start: its reservation expires at ${new Date(held.expiresAt).toISOString()}, before the run could end`;
  }
  return undefined;
}
