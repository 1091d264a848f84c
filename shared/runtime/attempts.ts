/**
 * Failed attempts at one event, counted per stage in the store. Buses retry a failing event a
 * few times and then dead-letter it, which would leave its job where it was (Approved with its
 * reservation held); counting lets the stage end the job itself on the last attempt it gets.
 */
import { retrySwap } from '../storage/compare-and-swap.ts';
import { keySegment } from '../storage/key-segment.ts';
import type { ObjectStore } from '../storage/object-store.ts';

// Event ids are chosen by publishers: as key segments they cannot name a path outside attempts/.
const keyOf = (stage: string, eventId: string) => `attempts/${stage}/${keySegment(eventId)}`;

/** Records one more failed attempt and returns how many there have been; 0 when the store cannot say. */
export async function countFailedAttempt(store: ObjectStore, stage: string, eventId: string): Promise<number> {
  const key = keyOf(stage, eventId);
  try {
    return await retrySwap(
      key,
      async () => {
        const current = await store.getVersioned(key);
        const count = (current ? Number(new TextDecoder().decode(current.body)) || 0 : 0) + 1;
        return (await store.putIfVersion(key, String(count), current?.version))
          ? { done: true, result: count }
          : { done: false };
      },
      { maxAttempts: 3 },
    );
  } catch {
    // The store failing (or contended) is likely why the attempt failed: leave it to the bus to retry.
    return 0;
  }
}
