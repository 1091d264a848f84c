/** The ledger-store port: versioned reads and compare-and-swap writes of ledger state. */
import { TransientError } from '../errors.ts';
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

/** Where ledgers live. Implementations: local file (embedded), S3 conditional writes. */
export interface LedgerStore {
  read(key: string): Promise<VersionedLedger>;
  /** Writes `state` only if the stored version is still `expected`; returns whether it did. */
  compareAndSwap(key: string, expected: string | undefined, state: LedgerState): Promise<boolean>;
  /** Every ledger key, for backups. */
  list(): Promise<string[]>;
}

/** Too many conflicting writers; retrying later can succeed. */
export class LedgerContentionError extends TransientError {
  constructor(key: string, attempts: number) {
    super(`ledger ${key} changed under us ${attempts} times in a row`);
  }
}

const MAX_BACKOFF_MS = 250;

/**
 * Applies `change` to a ledger with compare-and-swap, re-reading and retrying on conflict.
 * `change` must be pure: it may run several times. Returns its result from the run that won.
 */
export async function updateLedger<R>(
  store: LedgerStore,
  key: string,
  change: (state: LedgerState) => { state: LedgerState; result: R },
  options: { readonly maxAttempts?: number } = {},
): Promise<R> {
  const maxAttempts = options.maxAttempts ?? 200;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const current = await store.read(key);
    const { state, result } = change(current.state);
    if (state === current.state) return result;
    if (await store.compareAndSwap(key, current.version, state)) return result;
    // Exponential backoff with full jitter: many contending writers spread out instead of
    // retrying in lockstep, so one of them wins each round rather than all of them failing.
    await new Promise((r) => setTimeout(r, Math.random() * Math.min(MAX_BACKOFF_MS, 2 ** attempt)));
  }
  throw new LedgerContentionError(key, maxAttempts);
}
