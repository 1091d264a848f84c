/** A QiskitBudget's status, as the ledger of its current period shows it. */
import { formatMoney } from '../money.ts';
import type { QiskitBudgetStatus } from '../resources/schema.ts';
import { type LedgerState, reservedMicros } from './ledger.ts';

/** The status enforce-budget writes after each change to a period's ledger. */
export function budgetStatus(state: LedgerState, limitMicros: number, periodStart: Date): QiskitBudgetStatus {
  const reserved = reservedMicros(state);
  return {
    phase: state.spentMicros >= limitMicros ? 'Exceeded' : 'Active',
    spent: formatMoney(state.spentMicros),
    reserved: formatMoney(reserved),
    remaining: formatMoney(Math.max(0, limitMicros - state.spentMicros - reserved)),
    periodStart: periodStart.toISOString(),
    notifiedThresholds: [...state.notifiedThresholds],
    reservations: Object.values(state.reservations).map((held) => ({
      job: held.job,
      amount: formatMoney(held.micros),
      ...(held.expiresAt === undefined ? {} : { expiresAt: new Date(held.expiresAt).toISOString() }),
    })),
  };
}
