/**
 * A scheduler with a backstop: each delayed event goes to the primary scheduler (EventBridge
 * Scheduler on AWS) and is also recorded in the shared store as due a grace period later. When a
 * stage acts on the primary's copy, the record is forgotten; a record still there when it falls
 * due means the primary's delivery was lost (dropped, dead-lettered, a schedule never fired),
 * and the timer's tick releases it. A late duplicate is harmless: every stage is idempotent.
 */
import type { CloudEvent } from 'cloudevents';
import type { ObjectStore } from '../storage/object-store.ts';
import { notBeforeOf, type Scheduler } from './scheduler.ts';
import { StoreScheduler } from './store-scheduler.ts';

/** How long after its due time a delayed event counts as lost: Scheduler fires within a minute and retries for minutes. */
export const BACKSTOP_GRACE_MS = 15 * 60_000;

export class BackstoppedScheduler implements Scheduler {
  private readonly records: StoreScheduler;

  constructor(
    private readonly primary: Scheduler,
    store: ObjectStore,
    private readonly graceMs = BACKSTOP_GRACE_MS,
  ) {
    this.records = new StoreScheduler(store);
  }

  /** The record of an event: the same event, due a grace period later. */
  private record(event: CloudEvent<unknown>): CloudEvent<unknown> {
    return event.cloneWith({ notbefore: new Date((notBeforeOf(event) ?? 0) + this.graceMs).toISOString() });
  }

  async schedule(events: readonly CloudEvent<unknown>[]): Promise<void> {
    // The record first: a primary schedule without one could be lost unseen.
    await this.records.schedule(events.map((event) => this.record(event)));
    await this.primary.schedule(events);
  }

  async delivered(event: CloudEvent<unknown>): Promise<void> {
    await this.records.forget(this.record(event));
  }
}
