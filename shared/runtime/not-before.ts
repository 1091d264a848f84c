/**
 * Buses without delayed delivery (a Knative Broker, EventBridge) deliver an event at once
 * even when it says `notbefore`. Runtimes on them wait, capped, before publishing such an
 * event, so a stage's scheduled re-check (a job held for budget) runs at most once per cap
 * instead of spinning. See docs/adr/0006-held-jobs-and-delayed-events.md.
 */
import type { CloudEvent } from 'cloudevents';
import { notBeforeOf } from '../scheduler/scheduler.ts';

/** How long a runtime holds an event whose `notbefore` is in the future, at most. */
export const MAX_HOLD_MS = 20_000;

/** Waits until the earliest future `notbefore` among the events, at most `maxMs`. */
export async function waitUntilDue(
  events: readonly CloudEvent<unknown>[],
  maxMs = MAX_HOLD_MS,
  now = Date.now,
): Promise<void> {
  const due = events.map(notBeforeOf).filter((t) => t !== undefined);
  if (due.length === 0) return;
  const wait = Math.min(Math.min(...due) - now(), maxMs);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
