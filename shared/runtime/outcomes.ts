/**
 * The one place where errors become outcomes. A permanent error on a job event becomes a
 * `rejected` event (before approval) or a `failed` event (after, so the budget
 * reservation is released); a transient one is left for the bus to retry.
 */
import type { CloudEvent } from 'cloudevents';
import { type AnyTypedEvent, buildJobEvent } from '../../events/envelope.ts';
import type { BudgetRef, JobRef } from '../../events/schemas.ts';
import { EventType, type Stage, stageSource } from '../../events/types.ts';
import { asError, InvalidInputError, PermanentError, ProviderTaskFailedError, QpipeError } from '../errors.ts';
import { SchemaError } from '../resources/validate.ts';

/** A permanent error about a job whose identity the thrower knows better than the event does. */
export class JobRejection extends PermanentError {
  readonly job: JobRef;
  readonly problems: readonly { path: string; message: string }[];
  /** Events to publish with the rejection (an exceeded alert, say). */
  readonly alsoEmit: readonly CloudEvent<unknown>[];
  /** The budget holding the job's reservation, when the event does not say (a provider's own event). */
  readonly budget: BudgetRef | undefined;

  constructor(job: JobRef, cause: PermanentError, alsoEmit: readonly CloudEvent<unknown>[] = [], budget?: BudgetRef) {
    super(cause.message, { cause });
    this.job = job;
    this.problems =
      cause instanceof SchemaError
        ? cause.problems
        : [{ path: cause instanceof InvalidInputError ? cause.where : '', message: cause.message }];
    this.alsoEmit = alsoEmit;
    this.budget = budget;
  }
}

/**
 * A retryable error about a job whose identity its event does not carry (validate's input is a
 * request or an object): once the retries are spent, that job ends with the reason.
 */
export class JobScopedRetry extends QpipeError {
  readonly job: JobRef;

  constructor(job: JobRef, cause: Error) {
    super(cause.message, { retryable: true, cause });
    this.job = job;
  }
}

/**
 * The error a stage that knows the job (but whose event does not name it) throws for any
 * error: bad input and permanent faults reject the job; a transient fault is retried, the job
 * named for when retries are spent; a fault outside qpipe's tree (a bug, a stack overflow) on
 * this input would recur at every attempt and replay, so the job ends at once with it.
 */
export function scopedToJob(job: JobRef, error: unknown, doing: string): Error {
  if (error instanceof JobRejection || error instanceof JobScopedRetry) return error;
  if (error instanceof PermanentError) return new JobRejection(job, error);
  if (error instanceof QpipeError) {
    return error.retryable ? new JobScopedRetry(job, error) : new JobRejection(job, new PermanentError(error.message));
  }
  return new JobRejection(
    job,
    new PermanentError(`qpipe failed ${doing} (an internal error): ${asError(error).message}`, { cause: error }),
  );
}

// Stages after approval fail a job (and release its reservation) instead of rejecting it.
const FAILING_STAGES = new Set<Stage>(['execute', 'collect-results']);

/** The job an event is about, when it is about one. */
export function jobOf(event: AnyTypedEvent): JobRef | undefined {
  const data = event.data as { job?: unknown };
  const job = data.job as Partial<JobRef> | undefined;
  if (job && typeof job.uid === 'string' && typeof job.namespace === 'string' && typeof job.name === 'string') {
    return job as JobRef;
  }
  return undefined;
}

/**
 * Whether the bus should deliver the event again. An error outside qpipe's tree (a bug, an
 * SDK error nobody classified) is retried on purpose: the retries are bounded (the stage
 * counts them and fails the job after QPIPE_MAX_ATTEMPTS), so a fault that clears loses
 * no job and one that does not ends as a failed job with the error's message, never a
 * silent drop.
 */
export function isTransient(error: unknown): boolean {
  return error instanceof QpipeError ? error.retryable : true;
}

/** What the runtime should do with an error a handler threw. */
export type ErrorOutcome =
  | { readonly kind: 'retry'; readonly error: Error }
  | { readonly kind: 'emit'; readonly events: CloudEvent<unknown>[]; readonly message: string }
  | { readonly kind: 'drop'; readonly message: string };

/** What a provider still bills for a failed job's task (a cancelled task that ran), when anything. */
function chargedFor(error: unknown): { actualCostMicros?: number } {
  const cause = error instanceof JobRejection ? error.cause : error;
  return cause instanceof ProviderTaskFailedError && cause.actualCostMicros > 0
    ? { actualCostMicros: cause.actualCostMicros }
    : {};
}

/** Maps a handler error to an outcome. */
export function outcomeOf(error: unknown, event: AnyTypedEvent, stage: Stage): ErrorOutcome {
  if (isTransient(error)) return { kind: 'retry', error: asError(error) };
  const message = asError(error).message;
  const job = error instanceof JobRejection ? error.job : jobOf(event);
  if (!job) return { kind: 'drop', message };
  const budget =
    (error instanceof JobRejection ? error.budget : undefined) ?? (event.data as { budget?: BudgetRef }).budget;
  const options = {
    source: stageSource(stage),
    ...(event.extensions.traceparent === undefined ? {} : { traceparent: event.extensions.traceparent }),
  };
  if (FAILING_STAGES.has(stage)) {
    return {
      kind: 'emit',
      message,
      events: [
        buildJobEvent(
          EventType.JobFailed,
          { job, stage, reason: message, ...chargedFor(error), ...(budget ? { budget } : {}) },
          job,
          options,
        ),
      ],
    };
  }
  const problems =
    error instanceof JobRejection ? error.problems : error instanceof SchemaError ? error.problems : undefined;
  return {
    kind: 'emit',
    message,
    events: [
      ...(error instanceof JobRejection ? error.alsoEmit : []),
      buildJobEvent(
        EventType.JobRejected,
        {
          job,
          stage,
          reason: message,
          ...(problems ? { problems: [...problems] } : {}),
          ...(budget ? { budget } : {}),
        },
        job,
        options,
      ),
    ],
  };
}
