/**
 * The claim check for whole events: a bus with a size limit (EventBridge: 256 KB) gets the
 * event with its data in the object store and the key in the `bodyref` extension; every
 * runtime resolves it on receipt (runStage), so a handler always sees the whole data.
 * Other references have names of their own: `circuitref` (a large circuit) and `resultref`
 * (a result document) point at objects the event's data also names.
 */
import type { CloudEvent } from 'cloudevents';
import { InvalidInputError } from '../errors.ts';
import { getText, type ObjectStore } from '../storage/object-store.ts';
import { keySegment } from '../storage/key-segment.ts';

/** The store key of an event's data sent by reference. */
export function bodyKey(event: CloudEvent<unknown>): string {
  return `events/${keySegment(event.id)}.json`;
}

/** Stores the event's data and returns the event carrying only the reference. */
export async function sendBodyByReference(
  event: CloudEvent<unknown>,
  store: ObjectStore,
): Promise<CloudEvent<unknown>> {
  const key = bodyKey(event);
  await store.put(key, JSON.stringify(event.data), 'application/json');
  return event.cloneWith<unknown>({ data: {}, bodyref: key }, false);
}

/** The event with its data fetched back when it came by reference; others unchanged. */
export async function resolveBody(event: CloudEvent<unknown>, store: ObjectStore): Promise<CloudEvent<unknown>> {
  const key = (event as unknown as Record<string, unknown>)['bodyref'];
  if (typeof key !== 'string') return event;
  const text = await getText(store, key);
  if (text === undefined) {
    throw new InvalidInputError('bodyref', `the data of event ${event.id} is not in the store (${key})`);
  }
  return event.cloneWith<unknown>({ data: JSON.parse(text) as unknown, bodyref: undefined }, false);
}
