/**
 * How every runtime (embedded, Knative, Lambda) runs a stage: parse the event against the
 * catalog, call the handler, and map errors to outcomes in one place.
 */
import type { CloudEvent } from 'cloudevents';
import { type AnyTypedEvent, isCatalogType, parseEvent, type TypedEvent } from '../../events/envelope.ts';
import { EventType, type Stage, stageSource, SUBSCRIPTIONS } from '../../events/types.ts';
import { isScheduledCopy, notBeforeOf } from '../scheduler/scheduler.ts';
import { asError, InvalidInputError, PermanentError } from '../errors.ts';
import { WorkInProgressError } from '../idempotency/claims.ts';
import { countFailedAttempt } from './attempts.ts';
import { resolveBody } from './claim-check.ts';
import { describeEvent } from '../observability/log.ts';
import { startStageSpan } from '../observability/trace.ts';
import { isTransient, JobRejection, JobScopedRetry, outcomeOf } from './outcomes.ts';
import type { Ports } from './ports.ts';

/** A stage ready to be deployed by any runtime. */
export interface StageDefinition {
  readonly stage: Stage;
  readonly handle: (event: AnyTypedEvent, ports: Ports) => Promise<CloudEvent<unknown>[]>;
}

/** The events a stage subscribes to (SUBSCRIPTIONS), as the union its handler takes. */
export type StageInput<S extends Stage> = TypedEvent<(typeof SUBSCRIPTIONS)[S][number]>;

/**
 * Declares a stage from its handler, whose input is the union of the stage's
 * subscriptions; anything else is refused before the handler runs.
 */
export function defineStage<S extends Stage>(
  stage: S,
  handler: (event: StageInput<S>, ports: Ports) => Promise<CloudEvent<unknown>[]>,
): StageDefinition {
  const accepted = new Set<EventType>(SUBSCRIPTIONS[stage]);
  return {
    stage,
    handle: (event, ports) => {
      if (!accepted.has(event.type)) {
        throw new InvalidInputError('type', `stage ${stage} does not handle ${event.type} events`);
      }
      // Checked just above against the same list the type is made of.
      return handler(event as StageInput<S>, ports);
    },
  };
}

/** What running a stage on one event produced. */
export interface StageRun {
  /** Events to publish: the handler's, or the rejection/failure an error mapped to. */
  readonly emitted: CloudEvent<unknown>[];
  /** Set when the event could not be handled and should be retried. */
  readonly retry?: Error;
  /** Set when the event was permanently bad (the message says why). */
  readonly error?: string;
}

/**
 * The job an event is about, for log lines: its JobRef, or the manifest's metadata of a
 * requested or ApiServerSource event, or else the subject.
 */
function jobBindings(event: CloudEvent<unknown>): { job?: string; jobUid?: string } {
  const data = event.data as { job?: Record<string, unknown>; metadata?: Record<string, unknown> } | undefined;
  const ref = data?.job;
  const metadata = (ref?.['metadata'] ?? data?.metadata) as Record<string, unknown> | undefined;
  const namespace = ref?.['namespace'] ?? metadata?.['namespace'] ?? (metadata ? 'default' : undefined);
  const name = ref?.['name'] ?? metadata?.['name'];
  const uid = ref?.['uid'] ?? metadata?.['uid'] ?? (event as unknown as Record<string, unknown>)['jobuid'];
  const job =
    typeof name === 'string' ? `${typeof namespace === 'string' ? namespace : 'default'}/${name}` : event.subject;
  return { ...(job === undefined ? {} : { job }), ...(typeof uid === 'string' ? { jobUid: uid } : {}) };
}

/**
 * Runs a stage on a received CloudEvent. Never throws for a bad event; reports it instead.
 * Every run is one span (its emitted events carry it as their traceparent), one log line
 * with the job, event and trace, and one count in qpipe_events_total by outcome.
 */
export async function runStage(
  definition: StageDefinition,
  received: CloudEvent<unknown>,
  ports: Ports,
): Promise<StageRun> {
  const stage = definition.stage;
  const attributes = received as unknown as Record<string, unknown>;
  const span = startStageSpan(stage, received.type, attributes['traceparent']);
  const log = ports.log.child({
    stage,
    ...jobBindings(received),
    eventId: received.id,
    eventType: received.type,
    traceId: span.traceId,
  });
  log.debug({ event: describeEvent(received) }, 'received');
  const started = performance.now();
  const key = `${stage}/${received.id}`;
  const duplicate = ports.recentEvents.has(key);
  const run = isEarlyOwnEvent(definition.stage, received, ports)
    ? { emitted: [] }
    : await handleEvent(definition, received, ports);
  const outcome =
    run.retry !== undefined ? 'retried' : run.error !== undefined ? 'rejected' : duplicate ? 'duplicate' : 'handled';
  const metrics = ports.metrics;
  metrics?.events.inc({ stage, type: isCatalogType(received.type) ? received.type : 'other', outcome });
  metrics?.duration.observe({ stage }, (performance.now() - started) / 1000);
  if (run.retry === undefined) ports.recentEvents.remember(key);
  const emittedTypes = run.emitted.map((e) => e.type);
  if (run.retry !== undefined) log.warn({ outcome, err: run.retry.message }, 'will retry');
  else if (run.error !== undefined) log.warn({ outcome, emitted: emittedTypes, reason: run.error }, 'rejected');
  else log.info({ outcome, emitted: emittedTypes }, 'handled');
  span.end(run.error ?? run.retry?.message);
  return { ...run, emitted: run.emitted.map((e) => e.cloneWith({ traceparent: span.traceparent })) };
}

/**
 * How early a stage's own due event may arrive and still count as due: the clock of whoever
 * delivers it (the timer's pod, EventBridge Scheduler, a timer of this process firing a
 * millisecond early) is not this one's. Dropping a due copy as early would lose the re-check
 * for good: the job would wait for ever.
 */
export const DUE_TOLERANCE_MS = 250;

/**
 * A stage's own delayed event (a re-check, a poll) that arrives before it is due: the copy
 * published at once so that other stages see it (collect-results shows AwaitingBudget); the
 * scheduler delivers the due copy later, marked as its own, which counts as due whenever it
 * comes (dropping it would lose the re-check for good). Acknowledged with no work.
 */
function isEarlyOwnEvent(stage: Stage, event: CloudEvent<unknown>, ports: Ports): boolean {
  const due = notBeforeOf(event);
  return (
    due !== undefined &&
    !isScheduledCopy(event) &&
    due > ports.now().getTime() + DUE_TOLERANCE_MS &&
    event.source === stageSource(stage)
  );
}

const FINAL_JOB_EVENTS = new Set<string>([EventType.JobCompleted, EventType.JobFailed, EventType.JobRejected]);

async function handleEvent(
  definition: StageDefinition,
  received: CloudEvent<unknown>,
  ports: Ports,
): Promise<StageRun> {
  let event: AnyTypedEvent;
  try {
    // Data a size-limited bus carried by reference is fetched back first (claim-check.ts).
    event = parseEvent(await resolveBody(received, ports.store));
  } catch (error) {
    if (isTransient(error)) return { emitted: [], retry: asError(error) };
    return { emitted: [], error: asError(error).message };
  }
  try {
    return { emitted: await definition.handle(event, ports) };
  } catch (error) {
    let outcome = outcomeOf(error, event, definition.stage);
    if (outcome.kind === 'retry' && !(error instanceof WorkInProgressError)) {
      const attempts = await countFailedAttempt(ports.store, definition.stage, received.id);
      if (attempts >= ports.config.maxAttempts) {
        const reason = `failed ${attempts} times: ${asError(error).message}`;
        // A job's final event is not answered with another final event (that would loop): it is dropped, and reported.
        const permanent = new PermanentError(reason);
        outcome = FINAL_JOB_EVENTS.has(event.type)
          ? { kind: 'drop', message: reason }
          : outcomeOf(
              error instanceof JobScopedRetry ? new JobRejection(error.job, permanent) : permanent,
              event,
              definition.stage,
            );
      }
    }
    switch (outcome.kind) {
      case 'retry':
        return { emitted: [], retry: outcome.error };
      case 'emit':
        return { emitted: outcome.events, error: outcome.message };
      case 'drop':
        return { emitted: [], error: outcome.message };
    }
  }
}
