/**
 * One way to change a stored document: read it with its version, compute the change, write it
 * only if the version still holds, and on a conflict wait and start again. One back-off for
 * every document (ledgers, status, claims, session and audit records): exponential with full
 * jitter, so many contending writers spread out instead of retrying in lockstep.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import { TransientError } from '../errors.ts';
import { readVersionedDocument } from './documents.ts';
import type { ObjectStore } from './object-store.ts';

const MAX_BACKOFF_MS = 250;
const DEFAULT_ATTEMPTS = 200;

/** Too many conflicting writers; retrying the event later can succeed. */
export class ContentionError extends TransientError {
  constructor(what: string, attempts: number) {
    super(`${what} changed under us ${attempts} times in a row`);
  }
}

/** One try of a compare-and-swap: done with its result, or lost to another writer. */
export type SwapAttempt<R> = { readonly done: true; readonly result: R } | { readonly done: false };

/** Runs `attempt` until it is done, backing off between lost races; `what` names the document in the error. */
export async function retrySwap<R>(
  what: string,
  attempt: () => Promise<SwapAttempt<R>>,
  options: { readonly maxAttempts?: number } = {},
): Promise<R> {
  const maxAttempts = options.maxAttempts ?? DEFAULT_ATTEMPTS;
  for (let round = 1; round <= maxAttempts; round++) {
    const outcome = await attempt();
    if (outcome.done) return outcome.result;
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** round)));
  }
  throw new ContentionError(what, maxAttempts);
}

/** What a change makes of a document: its next content (undefined: leave it as it is) and a result. */
export interface DocumentChange<T, R> {
  readonly next: T | undefined;
  readonly result: R;
}

/**
 * Changes a JSON document in the store with compare-and-swap. `change` must be pure: it may
 * run several times, and its result is the one from the run that won.
 */
export function updateDocument<S extends TSchema, R>(
  store: ObjectStore,
  key: string,
  schema: S,
  change: (current: Static<S> | undefined) => DocumentChange<Static<S>, R>,
  options: { readonly maxAttempts?: number } = {},
): Promise<R> {
  return retrySwap(
    store.locate(key),
    async () => {
      const { document, version } = await readVersionedDocument(store, key, schema);
      const { next, result } = change(document);
      if (next === undefined) return { done: true, result };
      const body = JSON.stringify(next, null, 2);
      const written =
        version === undefined
          ? await store.putIfAbsent(key, body, 'application/json')
          : await store.putIfVersion(key, body, version, 'application/json');
      return written ? { done: true, result } : { done: false };
    },
    options,
  );
}
