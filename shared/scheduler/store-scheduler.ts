/**
 * A durable scheduler over the shared object store, for runtimes whose bus delivers at once
 * (a Knative Broker): each delayed event is an object `scheduled/<due>-<id>.json`, keyed so
 * that listing returns them in due order and a duplicate overwrites itself. A periodic tick
 * (a Knative PingSource calling `qpipe serve --stage timer`) releases what is due.
 */
import { CloudEvent } from 'cloudevents';
import { getText, type ObjectStore } from '../storage/object-store.ts';
import { notBeforeOf, type Scheduler } from './scheduler.ts';

const PREFIX = 'scheduled/';
/** Due times as 15-digit epoch milliseconds sort lexicographically until the year 33658. */
const DUE_DIGITS = 15;
/** Events released per tick at most; the rest wait for the next tick. */
const BATCH = 500;

function keyOf(event: CloudEvent<unknown>): string {
  const due = String(notBeforeOf(event) ?? 0).padStart(DUE_DIGITS, '0');
  // Ids are hex or uuids; anything else is made key-safe.
  return `${PREFIX}${due}-${event.id.replace(/[^A-Za-z0-9-]/g, '_')}.json`;
}

/** Due events kept in the store until a tick releases them. */
export class StoreScheduler implements Scheduler {
  constructor(private readonly store: ObjectStore) {}

  async schedule(events: readonly CloudEvent<unknown>[]): Promise<void> {
    await Promise.all(
      events.map((event) => this.store.put(keyOf(event), JSON.stringify(event.toJSON()), 'application/json')),
    );
  }

  /** Forgets a scheduled event (delivered some other way). */
  async forget(event: CloudEvent<unknown>): Promise<void> {
    await this.store.delete(keyOf(event));
  }

  /**
   * Publishes every event due by `now`, oldest first, then forgets it. An event is deleted
   * only after it was published, so a crash in between publishes it again (at least once).
   */
  async releaseDue(now: number, publish: (events: CloudEvent<unknown>[]) => Promise<void>): Promise<number> {
    const keys = await this.store.list(PREFIX, BATCH);
    const due = keys.filter((key) => Number(key.slice(PREFIX.length, PREFIX.length + DUE_DIGITS)) <= now);
    let released = 0;
    for (const key of due) {
      const text = await getText(this.store, key);
      if (text !== undefined) {
        await publish([new CloudEvent(JSON.parse(text) as Record<string, unknown>, false)]);
        released++;
      }
      await this.store.delete(key);
    }
    return released;
  }
}
