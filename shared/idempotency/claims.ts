/**
 * In-progress claims in shared storage, so that a duplicate delivery arriving while the
 * first copy still works does no work (DESIGN.md: idempotency). A claim is a chain of
 * leases `claims/<work>/<n>` written with create-if-absent, the only conditional write
 * every store has (S3 If-None-Match, O_EXCL locally): lease n+1 can be created only by one
 * taker, and only once lease n has expired, so a crashed holder blocks no one for longer
 * than a lease. The holder renews its lease while it works and expires it when done.
 */
import { PermanentError, TransientError } from '../errors.ts';
import { getJson, type ObjectStore } from '../storage/object-store.ts';

/** What a lease object holds. */
interface Lease {
  readonly holder: string;
  /** Epoch milliseconds after which another worker may take the work over. */
  readonly expiresAt: number;
}

function isLease(value: unknown): value is Lease {
  const lease = value as Partial<Lease> | undefined;
  return typeof lease?.holder === 'string' && typeof lease.expiresAt === 'number';
}

/** Another worker holds the claim: retry after it expires or finishes. Retryable by type. */
export class WorkInProgressError extends TransientError {
  /** When the current lease runs out, in epoch milliseconds: when trying again can help (the embedded bus waits until then without counting an attempt). */
  readonly retryAt: number;

  constructor(work: string, until: number) {
    super(`${work} is in progress elsewhere (lease until ${new Date(until).toISOString()})`);
    this.retryAt = until;
  }
}

/** A held claim. */
export interface HeldClaim {
  /** Marks the work finished: stops renewing and lets the lease lapse at once. */
  release(): Promise<void>;
}

/** Options of a claim. */
export interface ClaimOptions {
  readonly store: ObjectStore;
  /** Names the work, e.g. `execute/<uid>-<generation>`; a safe key. */
  readonly work: string;
  readonly leaseMs: number;
  readonly now?: () => number;
  /** Who holds it, for people reading the store. */
  readonly holder?: string;
}

/** Leases beyond this many mean something keeps crashing; stop probing and report it. */
const MAX_LEASES = 100;

/**
 * Claims the work, or throws WorkInProgressError while another worker's lease is live.
 * The caller must release the claim when done (also on failure).
 */
export async function claimWork(options: ClaimOptions): Promise<HeldClaim> {
  const { store, work, leaseMs } = options;
  const now = options.now ?? Date.now;
  const holder = options.holder ?? `${process.pid}@${crypto.randomUUID().slice(0, 8)}`;
  const key = (n: number) => `claims/${work}/${n}`;
  let next = 0;
  for (;;) {
    const lease = await getJson(store, key(next));
    if (lease === undefined) break;
    if (!isLease(lease) || lease.expiresAt > now()) {
      // A live lease (or one written by something else: treat it as live until the next probe).
      if (!isLease(lease) || (await getJson(store, key(next + 1))) === undefined) {
        throw new WorkInProgressError(work, isLease(lease) ? lease.expiresAt : now() + leaseMs);
      }
    }
    if (++next >= MAX_LEASES) throw new PermanentError(`${work} was claimed ${MAX_LEASES} times`);
  }
  const body = (expiresAt: number) => JSON.stringify({ holder, expiresAt } satisfies Lease);
  if (!(await store.putIfAbsent(key(next), body(now() + leaseMs), 'application/json'))) {
    // Another taker created the same lease between our read and our write.
    throw new WorkInProgressError(work, now() + leaseMs);
  }
  // Renew well before expiry; the timer must not keep a process alive.
  const renewal = setInterval(
    () => {
      void store.put(key(next), body(now() + leaseMs), 'application/json').catch(() => undefined);
    },
    Math.max(10, Math.floor(leaseMs / 3)),
  );
  renewal.unref();
  return {
    release: async () => {
      clearInterval(renewal);
      await store.put(key(next), body(0), 'application/json');
    },
  };
}
