/**
 * How every runtime (embedded, Knative, Lambda) runs a stage: parse the event against the
 * catalog, call the handler, and map errors to outcomes in one place.
 */
import type { CloudEvent } from 'cloudevents';
import { type AnyTypedEvent, parseEvent, type TypedEvent } from '../../events/envelope.ts';
import { type EventType, type Stage, SUBSCRIPTIONS } from '../../events/types.ts';
import { InvalidInputError } from '../errors.ts';
import { outcomeOf } from './outcomes.ts';
import type { Ports } from './ports.ts';

/** A stage ready to be deployed by any runtime. */
export interface StageDefinition {
  readonly stage: Stage;
  readonly handle: (event: AnyTypedEvent, ports: Ports) => Promise<CloudEvent<unknown>[]>;
}

/**
 * Declares a stage from its handler. The handler's event type is what the stage
 * subscribes to (SUBSCRIPTIONS); anything else is refused before the handler runs.
 */
export function defineStage<T extends EventType>(
  stage: Stage,
  handler: (event: TypedEvent<T>, ports: Ports) => Promise<CloudEvent<unknown>[]>,
): StageDefinition {
  const accepted = new Set<EventType>(SUBSCRIPTIONS[stage]);
  return {
    stage,
    handle: (event, ports) => {
      if (!accepted.has(event.type)) {
        throw new InvalidInputError('type', `stage ${stage} does not handle ${event.type} events`);
      }
      return handler(event as TypedEvent<T>, ports);
    },
  };
}

/** What running a stage on one event produced. */
export interface StageRun {
  /** Events to publish: the handler's, or the rejection/failure an error mapped to. */
  readonly emitted: CloudEvent<unknown>[];
  /** Set when the event could not be handled and should be retried. */
  readonly retry?: unknown;
  /** Set when the event was permanently bad (the message says why). */
  readonly error?: string;
}

/** Runs a stage on a received CloudEvent. Never throws for a bad event; reports it instead. */
export async function runStage(
  definition: StageDefinition,
  received: CloudEvent<unknown>,
  ports: Ports,
): Promise<StageRun> {
  let event: AnyTypedEvent;
  try {
    event = parseEvent(received);
  } catch (error) {
    return { emitted: [], error: error instanceof Error ? error.message : String(error) };
  }
  try {
    return { emitted: await definition.handle(event, ports) };
  } catch (error) {
    const outcome = outcomeOf(error, event, definition.stage);
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
