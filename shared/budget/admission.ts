/**
 * Budget admission as one pure decision: from a budget period's ledger, a job's estimate
 * and the budget's rules at a moment, what the ledger becomes and what happens to the job.
 * enforce-budget applies the ledger change with one compare-and-swap (re-deciding on a
 * conflict) and publishes what the decision says.
 */
import type { MicroDollars } from '../money.ts';
import type { Overspend } from './budget-exceeded.ts';
import {
  addWaiting,
  type LedgerState,
  removeWaiting,
  reservationEntry,
  type ReservationTerms,
  reserve,
  reservedMicros,
} from './ledger.ts';

// Re-checks of a held job start after this and back off to at most MAX_RECHECK_MS. They are
// a safety net: whatever frees budget (a settlement, a release, a raised limit) re-checks the
// waiting jobs at once, and the grace deadline and the next period are timers of their own,
// so a job held for 24 h costs about 35 re-checks, not thousands.
const MIN_RECHECK_MS = 5_000;
const MAX_RECHECK_MS = 3_600_000;

/** A job asking its budget for its worst-case cost. Times are epoch milliseconds. */
export interface AdmissionRequest {
  /** The ledger key of this run of the job (`<uid>/<generation>`). */
  readonly jobKey: string;
  /** `<namespace>/<name>`, as the ledger shows it. */
  readonly job: string;
  readonly estimateMicros: MicroDollars;
  readonly limitMicros: MicroDollars;
  /** The budget's enforcement: hold (true) or let the job run over the limit (false). */
  readonly blockOnExceed: boolean;
  /** How long a job may wait for budget (the budget's gracePeriod; 0 rejects at once). */
  readonly graceMs: number;
  readonly now: number;
  /** When the budget's period ends (a held job is looked at again then); Infinity for total budgets. */
  readonly periodEndsAt: number;
  /** Where the job's held event is kept, should it wait. */
  readonly heldRef: string;
  /** Set when the job is already waiting: this is a re-check. */
  readonly held?: { readonly since: number; readonly deadline: number };
  /** How long the reservation may stand, and who holds it. */
  readonly terms: ReservationTerms;
}

/** What happens to the job. */
export type AdmissionDecision =
  /** The run was reclaimed as dead and already failed: a late delivery does nothing. */
  | { readonly kind: 'ended' }
  /** Its cost is reserved (now, or by an earlier delivery of the same job). */
  | { readonly kind: 'approved' }
  /** The budget does not block: the job runs over the limit, and owners are alerted. */
  | { readonly kind: 'approved-over-limit'; readonly overspend: Overspend }
  /** The job waits for budget until `deadline`, looked at again at `recheckAt`. */
  | {
      readonly kind: 'held';
      readonly overspend: Overspend;
      readonly since: number;
      readonly deadline: number;
      readonly recheckAt: number;
      /** Held for the first time now: the exceeded alert goes out once, with this. */
      readonly firstTime: boolean;
    }
  /** Its grace period is over (or it had none): rejected. */
  | {
      readonly kind: 'rejected';
      readonly overspend: Overspend;
      readonly waitedMs: number;
      readonly firstTime: boolean;
    };

/** Decides a job's admission; the returned state is what the ledger must become. */
export function decideAdmission(
  state: LedgerState,
  request: AdmissionRequest,
): { readonly state: LedgerState; readonly decision: AdmissionDecision } {
  const { jobKey, job, estimateMicros, limitMicros, now } = request;
  if (state.reclaimed?.[jobKey]) return { state, decision: { kind: 'ended' } };
  const outcome = reserve(state, { jobKey, job, micros: estimateMicros, limitMicros, ...request.terms });
  if (outcome.kind !== 'insufficient') {
    return { state: removeWaiting(outcome.state, jobKey), decision: { kind: 'approved' } };
  }
  const overspend: Overspend = {
    estimateMicros,
    spentMicros: state.spentMicros,
    reservedMicros: reservedMicros(state),
    limitMicros,
  };
  if (!request.blockOnExceed) {
    // The job proceeds over the limit; the reservation still records it.
    const forced = {
      ...state,
      reservations: { ...state.reservations, [jobKey]: reservationEntry(job, estimateMicros, request.terms) },
    };
    return { state: removeWaiting(forced, jobKey), decision: { kind: 'approved-over-limit', overspend } };
  }
  const since = request.held?.since ?? now;
  const deadline = request.held?.deadline ?? now + request.graceMs;
  const firstTime = request.held === undefined;
  if (now >= deadline) {
    return {
      state: removeWaiting(state, jobKey),
      decision: { kind: 'rejected', overspend, waitedMs: now - since, firstTime },
    };
  }
  const delay = Math.min(
    Math.max(MIN_RECHECK_MS, now - since),
    MAX_RECHECK_MS,
    deadline - now,
    request.periodEndsAt - now,
  );
  return {
    state: addWaiting(state, jobKey, { job, heldRef: request.heldRef }),
    decision: { kind: 'held', overspend, since, deadline, recheckAt: now + delay, firstTime },
  };
}
