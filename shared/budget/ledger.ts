/**
 * The budget ledger's rules as pure functions: reserve, settle, release, thresholds. Every
 * change goes through a LedgerStore compare-and-swap, so concurrent jobs can never
 * overspend (spent + reserved never exceeds the limit for an approved reservation).
 */
import { type Static, Type } from '@sinclair/typebox';
import type { MicroDollars } from '../money.ts';
import type { BudgetPeriod } from '../resources/schema.ts';

const micros = Type.Integer({ minimum: 0 });
const entry = Type.Readonly(Type.Object({ micros, job: Type.String() }));
/** An open reservation: reclaimed once it expires, or at once when the process that owns it is gone. */
const reservation = Type.Readonly(
  Type.Object({
    micros,
    job: Type.String(),
    /** Epoch milliseconds after which the job cannot still be running (its time limits passed). */
    expiresAt: Type.Optional(Type.Integer()),
    /** The one process whose jobs these are (`qpipe run`), where a process's death ends its jobs. */
    owner: Type.Optional(Type.String()),
  }),
);
/** A reservation reclaimed because the run holding it died. */
const reclaimedEntry = Type.Readonly(
  Type.Object({
    micros,
    job: Type.String(),
    at: Type.Integer(),
    why: Type.String(),
    /** Set once the job's failure came back through the bus: until then every write announces it again. */
    announced: Type.Optional(Type.Boolean()),
  }),
);

/** One budget period's books. */
export const LedgerState = Type.Object({
  spentMicros: micros,
  /** Open reservations by job key (`<uid>/<generation>`). */
  reservations: Type.Readonly(Type.Record(Type.String(), reservation)),
  /** Reservations reclaimed from dead runs, by job key: their jobs end Failed, never run again. */
  reclaimed: Type.Optional(Type.Readonly(Type.Record(Type.String(), reclaimedEntry))),
  /** Settled charges by job key; a settled job is never charged again. */
  charges: Type.Readonly(Type.Record(Type.String(), entry)),
  /** Thresholds (percent) already alerted this period. */
  notifiedThresholds: Type.Readonly(Type.Array(Type.Number())),
  /** Jobs held for budget (blockOnExceed), by job key: where their held event is stored. */
  waiting: Type.Optional(
    Type.Readonly(
      Type.Record(Type.String(), Type.Readonly(Type.Object({ job: Type.String(), heldRef: Type.String() }))),
    ),
  ),
});
export type LedgerState = Static<typeof LedgerState>;

/** A ledger with no activity. */
export const EMPTY_LEDGER: LedgerState = {
  spentMicros: 0,
  reservations: {},
  charges: {},
  notifiedThresholds: [],
  waiting: {},
};

/** Records a job as waiting for budget. */
export function addWaiting(state: LedgerState, jobKey: string, entry: { job: string; heldRef: string }): LedgerState {
  if (state.waiting?.[jobKey]) return state;
  return { ...state, waiting: { ...state.waiting, [jobKey]: entry } };
}

/** Forgets a waiting job (approved, rejected, or moved to a new period). */
export function removeWaiting(state: LedgerState, jobKey: string): LedgerState {
  if (!state.waiting?.[jobKey]) return state;
  const { [jobKey]: _gone, ...waiting } = state.waiting;
  return { ...state, waiting };
}

/** Total of open reservations. */
export function reservedMicros(state: LedgerState): MicroDollars {
  return Object.values(state.reservations).reduce((sum, r) => sum + r.micros, 0);
}

/** The outcome of asking to reserve. */
export type ReserveOutcome =
  | { readonly kind: 'reserved'; readonly state: LedgerState }
  | { readonly kind: 'already'; readonly state: LedgerState }
  | { readonly kind: 'insufficient'; readonly state: LedgerState; readonly availableMicros: MicroDollars };

/** How long a reservation may stand, and who holds it. */
export interface ReservationTerms {
  /** Epoch milliseconds after which the job cannot still be running. */
  readonly expiresAt?: number;
  /** The process whose death ends the job (`qpipe run`). */
  readonly owner?: string;
}

/** The ledger entry of a reservation. */
export function reservationEntry(job: string, micros: MicroDollars, terms: ReservationTerms) {
  return {
    micros,
    job,
    ...(terms.expiresAt === undefined ? {} : { expiresAt: terms.expiresAt }),
    ...(terms.owner === undefined ? {} : { owner: terms.owner }),
  };
}

/** Reserves `micros` for a job if spent + reserved + micros stays within the limit. */
export function reserve(
  state: LedgerState,
  request: { jobKey: string; job: string; micros: MicroDollars; limitMicros: MicroDollars } & ReservationTerms,
): ReserveOutcome {
  if (state.reservations[request.jobKey] || state.charges[request.jobKey]) return { kind: 'already', state };
  const committed = state.spentMicros + reservedMicros(state);
  if (committed + request.micros > request.limitMicros) {
    return { kind: 'insufficient', state, availableMicros: Math.max(0, request.limitMicros - committed) };
  }
  return {
    kind: 'reserved',
    state: {
      ...state,
      reservations: {
        ...state.reservations,
        [request.jobKey]: reservationEntry(request.job, request.micros, request),
      },
    },
  };
}

/** A reservation taken back from a dead run. */
export interface Reclaimed {
  readonly jobKey: string;
  readonly job: string;
  readonly micros: MicroDollars;
  readonly why: string;
}

/**
 * Takes back the reservations of runs that cannot still be going: past their expiry, or held
 * by a process that is gone. Their jobs must be ended (the caller fails them); a reclaimed
 * run never reserves again. What a provider still bills such a job is settled as usual.
 */
export function reclaimDead(
  state: LedgerState,
  options: { readonly now: number; readonly ownerGone?: (owner: string) => boolean },
): { state: LedgerState; reclaimed: Reclaimed[] } {
  // Runs reclaimed earlier whose failure has not come back yet (a writer that died after its
  // write but before publishing loses it): announced again, under the same event id.
  const reclaimed: Reclaimed[] = Object.entries(state.reclaimed ?? {})
    .filter(([, entry]) => entry.announced !== true)
    .map(([jobKey, entry]) => ({ jobKey, job: entry.job, micros: entry.micros, why: entry.why }));
  const before = reclaimed.length;
  for (const [jobKey, held] of Object.entries(state.reservations)) {
    const why =
      held.owner !== undefined && options.ownerGone?.(held.owner) === true
        ? `the process that ran it (${held.owner}) is gone`
        : held.expiresAt !== undefined && options.now >= held.expiresAt
          ? `its reservation expired at ${new Date(held.expiresAt).toISOString()}, past the job's time limits`
          : undefined;
    if (why !== undefined) reclaimed.push({ jobKey, job: held.job, micros: held.micros, why });
  }
  if (reclaimed.length === before) return { state, reclaimed };
  const fresh = reclaimed.slice(before);
  const gone = new Set(fresh.map((r) => r.jobKey));
  const reservations = Object.fromEntries(Object.entries(state.reservations).filter(([key]) => !gone.has(key)));
  const record = { ...state.reclaimed };
  for (const r of fresh) record[r.jobKey] = { micros: r.micros, job: r.job, at: options.now, why: r.why };
  return { state: { ...state, reservations, reclaimed: record }, reclaimed };
}

/** Records a job's actual cost and drops its reservation; a second settle changes nothing. */
export function settle(
  state: LedgerState,
  request: { jobKey: string; job: string; micros: MicroDollars },
): LedgerState {
  if (state.charges[request.jobKey]) return state;
  const { [request.jobKey]: _released, ...reservations } = state.reservations;
  return {
    ...state,
    spentMicros: state.spentMicros + request.micros,
    reservations,
    charges: { ...state.charges, [request.jobKey]: { micros: request.micros, job: request.job } },
  };
}

/**
 * Drops a job's reservation (failure or rejection); releasing twice changes nothing. The
 * failure of a reclaimed run coming back marks it announced.
 */
export function release(state: LedgerState, jobKey: string): LedgerState {
  const reclaimed = state.reclaimed?.[jobKey];
  if (reclaimed && reclaimed.announced !== true) {
    return { ...state, reclaimed: { ...state.reclaimed, [jobKey]: { ...reclaimed, announced: true } } };
  }
  if (!state.reservations[jobKey]) return state;
  const { [jobKey]: _released, ...reservations } = state.reservations;
  return { ...state, reservations };
}

/**
 * Thresholds that spending has reached and that were not yet alerted, and the state
 * with them marked as alerted, so each alerts once per period.
 */
export function crossThresholds(
  state: LedgerState,
  limitMicros: MicroDollars,
  thresholds: readonly number[],
): { state: LedgerState; crossed: number[] } {
  const crossed = thresholds
    .filter((t) => !state.notifiedThresholds.includes(t))
    .filter((t) => limitMicros > 0 && state.spentMicros * 100 >= t * limitMicros)
    .sort((a, b) => a - b);
  if (crossed.length === 0) return { state, crossed };
  return { state: { ...state, notifiedThresholds: [...state.notifiedThresholds, ...crossed] }, crossed };
}

/** The jobs that cost most this period, for alert emails. */
export function topCharges(state: LedgerState, count: number): { job: string; micros: MicroDollars }[] {
  return Object.values(state.charges)
    .sort((a, b) => b.micros - a.micros)
    .slice(0, count)
    .map(({ job, micros }) => ({ job, micros }));
}

/** The key and start of the period containing `now` (UTC calendar). */
export function currentPeriod(period: BudgetPeriod, now: Date): { key: string; start: Date } {
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  const d = now.getUTCDate();
  const pad = (n: number) => String(n).padStart(2, '0');
  switch (period) {
    case 'daily':
      return { key: `${y}-${pad(m + 1)}-${pad(d)}`, start: new Date(Date.UTC(y, m, d)) };
    case 'weekly': {
      // ISO weeks start on Monday.
      const weekday = (now.getUTCDay() + 6) % 7;
      const start = new Date(Date.UTC(y, m, d - weekday));
      return { key: `week-${start.toISOString().slice(0, 10)}`, start };
    }
    case 'monthly':
      return { key: `${y}-${pad(m + 1)}`, start: new Date(Date.UTC(y, m, 1)) };
    case 'total':
      return { key: 'total', start: new Date(0) };
  }
}

/** When the period after the one containing `now` starts (UTC); undefined for `total`, which never ends. */
export function nextPeriodStart(period: BudgetPeriod, now: Date): Date | undefined {
  const { start } = currentPeriod(period, now);
  const [y, m, d] = [start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()];
  switch (period) {
    case 'daily':
      return new Date(Date.UTC(y, m, d + 1));
    case 'weekly':
      return new Date(Date.UTC(y, m, d + 7));
    case 'monthly':
      return new Date(Date.UTC(y, m + 1, 1));
    case 'total':
      return undefined;
  }
}
