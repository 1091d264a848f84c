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
}

/** When an event may be delivered (epoch ms), or undefined when it carries no `notbefore`. */
export function notBeforeOf(event: CloudEvent<unknown>): number | undefined {
  const raw = (event as unknown as Record<string, unknown>)['notbefore'];
  const time = typeof raw === 'string' ? Date.parse(raw) : Number.NaN;
  return Number.isNaN(time) ? undefined : time;
}

/** Splits events into those to publish now and those whose `notbefore` is still ahead. */
export function splitByDue(
  events: readonly CloudEvent<unknown>[],
  now: number,
): { now: CloudEvent<unknown>[]; later: CloudEvent<unknown>[] } {
  const later = events.filter((e) => (notBeforeOf(e) ?? 0) > now);
  return { now: events.filter((e) => !later.includes(e)), later };
}
