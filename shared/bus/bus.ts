/** The event-bus port and Knative-Trigger-style filters. */
import type { CloudEvent } from 'cloudevents';

/** Publishes events; delivery is at least once on every implementation. */
export interface EventBus {
  publish(events: readonly CloudEvent<unknown>[]): Promise<void>;
}

/**
 * A Trigger filter: every attribute named must equal the event's (Knative Trigger
 * `filter.attributes` semantics). An empty filter matches everything.
 */
export type TriggerFilter = Readonly<Record<string, string>>;

/** Whether an event passes a filter. */
export function matchesFilter(filter: TriggerFilter, event: CloudEvent<unknown>): boolean {
  return Object.entries(filter).every(
    ([name, value]) => String((event as unknown as Record<string, unknown>)[name]) === value,
  );
}
