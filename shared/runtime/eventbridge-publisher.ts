/**
 * Publishes CloudEvents with PutEvents: batches of at most 10 entries and 256 KB, only the
 * entries that failed retryably resent (with backoff), each entry within EventBridge's 256 KB; an event whose
 * data is larger travels by reference (the data in the object store, `bodyref` set; see
 * claim-check.ts).
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html
 */
import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { CloudEvent } from 'cloudevents';
import {
  EVENTBRIDGE_ENTRY_LIMIT,
  type EventBridgeEntry,
  entrySize,
  toEventBridgeEntry,
} from '../../events/eventbridge.ts';
import { PermanentError, TransientError } from '../errors.ts';
import { sendBodyByReference } from './claim-check.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** Options of the publisher. */
export interface EventBridgePublisherOptions {
  readonly client: EventBridgeClient;
  readonly busName: string;
  /** Where oversized data goes. */
  readonly store: ObjectStore;
  readonly maxAttempts?: number;
  readonly backoffMs?: number;
}

/** PutEvents takes at most 10 entries, and at most 256 KB in all (entries summed as EventBridge sizes them). */
const BATCH = 10;

/**
 * Entry errors PutEvents says to retry; any other (MalformedDetail, AccessDeniedException,
 * NotAuthorizedForSourceException, InvalidArgument, ...) fails the same way every time.
 * https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsResultEntry.html
 */
const RETRYABLE_ENTRY_ERRORS = new Set(['InternalFailure', 'ThrottlingException']);

/** Consecutive batches within PutEvents' limits: 10 entries and 256 KB a request. */
export function batchesOf<T extends EventBridgeEntry>(entries: readonly T[]): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const entry of entries) {
    const entryBytes = entrySize(entry);
    if (current.length === BATCH || (current.length > 0 && size + entryBytes > EVENTBRIDGE_ENTRY_LIMIT)) {
      batches.push(current);
      current = [];
      size = 0;
    }
    current.push(entry);
    size += entryBytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** The event's PutEvents entry, its data sent by reference when the whole would pass EventBridge's limit. */
export async function entryWithinLimit(
  event: CloudEvent<unknown>,
  busName: string,
  store: ObjectStore,
): Promise<PutEventsRequestEntry & EventBridgeEntry> {
  const entry = toEventBridgeEntry(event, busName);
  if (entrySize(entry) <= EVENTBRIDGE_ENTRY_LIMIT) return entry;
  const small = toEventBridgeEntry(await sendBodyByReference(event, store), busName);
  if (entrySize(small) > EVENTBRIDGE_ENTRY_LIMIT)
    throw new PermanentError(`event ${event.id} is too large for EventBridge even by reference`);
  return small;
}

/** Returns a function that publishes events to the bus. */
export function createEventBridgePublisher(
  options: EventBridgePublisherOptions,
): (events: readonly CloudEvent<unknown>[]) => Promise<void> {
  const maxAttempts = options.maxAttempts ?? 4;
  const backoffMs = options.backoffMs ?? 100;

  return async (events) => {
    const entries = await Promise.all(events.map((e) => entryWithinLimit(e, options.busName, options.store)));
    for (let pending of batchesOf(entries)) {
      for (let attempt = 1; pending.length > 0; attempt++) {
        const response = await options.client.send(new PutEventsCommand({ Entries: pending }));
        const results = pending.map((entry, i) => ({ entry, result: response.Entries?.[i] }));
        const refused = results.filter(
          ({ result }) => result?.ErrorCode && !RETRYABLE_ENTRY_ERRORS.has(result.ErrorCode),
        );
        if (refused.length > 0) {
          const reasons = refused.map(
            ({ entry, result }) => `${entry.DetailType}: ${result?.ErrorCode} ${result?.ErrorMessage ?? ''}`,
          );
          throw new PermanentError(
            `PutEvents refused ${refused.length} entries, which no retry changes: ${reasons.join('; ')}`,
          );
        }
        const failed = results.filter(({ result }) => result?.ErrorCode !== undefined).map(({ entry }) => entry);
        if (failed.length === 0) break;
        if (attempt >= maxAttempts) {
          const codes = [...new Set(response.Entries?.map((e) => e.ErrorCode).filter(Boolean))].join(', ');
          throw new TransientError(`PutEvents kept failing for ${failed.length} entries (${codes})`);
        }
        pending = failed;
        await new Promise((resolve) => setTimeout(resolve, backoffMs * 2 ** (attempt - 1)));
      }
    }
  };
}
