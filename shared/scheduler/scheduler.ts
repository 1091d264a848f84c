/**
 * The scheduler port: delayed events (held-job re-checks, provider polls, deadlines). A
 * handler never waits; it emits an event with a `notbefore` extension and the runtime hands
 * it to the scheduler, which delivers it at or soon after that time. The embedded bus keeps
 * a timer; deployments keep due events in the shared store (store-scheduler.ts).
 */
import type { CloudEvent } from 'cloudevents';

/** Delivers events later. Scheduling the same event (same id) twice delivers it once. */
export interface Scheduler {
  schedule(events: readonly CloudEvent<unknown>[]): Promise<void>;
  /** Told when a stage acted on a copy this scheduler delivered (a backstop then forgets it). */
  delivered?(event: CloudEvent<unknown>): Promise<void>;
}

/** When an event may be delivered (epoch ms), or undefined when it carries no `notbefore`. */
export function notBeforeOf(event: CloudEvent<unknown>): number | undefined {
  const raw = (event as unknown as Record<string, unknown>)['notbefore'];
  const time = typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
  return Number.isNaN(time) ? undefined : time;
}

/**
 * The extension that marks the copy of a delayed event handed to a scheduler. A scheduler may
 * deliver it early (EventBridge Scheduler fires within its own precision, another pod's clock
 * differs): that copy is due by the scheduler's word, and its stage acts on it, where it
 * ignores the unmarked copy published at once for the other stages to see.
 */
export const SCHEDULED_COPY = 'qpipescheduled';

/** Whether an event is the copy a scheduler delivered. */
export function isScheduledCopy(event: CloudEvent<unknown>): boolean {
  return (event as unknown as Record<string, unknown>)[SCHEDULED_COPY] === 'true';
}

/** Splits events into those to publish now and (marked as the scheduler's copy) those whose `notbefore` is still ahead. */
export function splitByDue(
  events: readonly CloudEvent<unknown>[],
  now: number,
): { now: CloudEvent<unknown>[]; later: CloudEvent<unknown>[] } {
  const ahead = events.filter((e) => (notBeforeOf(e) ?? 0) > now);
  return {
    now: events.filter((e) => !ahead.includes(e)),
    later: ahead.map((e) => e.cloneWith({ [SCHEDULED_COPY]: 'true' })),
  };
}
