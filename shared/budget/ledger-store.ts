/** The ledger-store port: versioned reads and compare-and-swap writes of ledger state. */
import { retrySwap } from '../storage/compare-and-swap.ts';
import type { LedgerState } from './ledger.ts';
import { keySegment } from '../storage/key-segment.ts';

/** The ledger-store key of one budget period. */
export function ledgerKey(budget: {
  readonly namespace: string;
  readonly name: string;
  readonly period: string;
}): string {
  return [budget.namespace, budget.name, budget.period].map(keySegment).join('/');
}

/** A ledger as read, with the version a compare-and-swap must match. */
export interface VersionedLedger {
  readonly state: LedgerState;
  /** Opaque version (a counter locally, an ETag on S3); undefined when the ledger does not exist yet. */
  readonly version: string | undefined;
}

/** Where ledgers live: ObjectLedgerStore, over the local or the S3 object store. */
export interface LedgerStore {
  read(key: string): Promise<VersionedLedger>;
  /** Writes `state` only if the stored version is still `expected`; returns whether it did. */
  compareAndSwap(key: string, expected: string | undefined, state: LedgerState): Promise<boolean>;
  /** Every ledger key, for backups. */
  list(): Promise<string[]>;
}

/**
 * Applies `change` to a ledger with compare-and-swap, re-reading and retrying on conflict
 * (shared/storage/compare-and-swap.ts's back-off). `change` must be pure: it may run several
 * times. Returns its result from the run that won.
 */
export function updateLedger<R>(
  store: LedgerStore,
  key: string,
  change: (state: LedgerState) => { state: LedgerState; result: R },
  options: { readonly maxAttempts?: number } = {},
): Promise<R> {
  return retrySwap(
    `ledger ${key}`,
    async () => {
      const current = await store.read(key);
      const { state, result } = change(current.state);
      if (state === current.state || (await store.compareAndSwap(key, current.version, state))) {
        return { done: true, result };
      }
      return { done: false };
    },
    options,
  );
}
