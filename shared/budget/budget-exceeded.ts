/** The error a job meets when its budget cannot cover it, with the amounts, not only words. */
import type { BudgetRef } from '../../events/schemas.ts';
import { InvalidInputError } from '../errors.ts';
import { formatMoney } from '../money.ts';

/** What the budget held when the job asked (micro-dollars). */
export interface Overspend {
  readonly estimateMicros: number;
  readonly spentMicros: number;
  readonly reservedMicros: number;
  readonly limitMicros: number;
}

/** A job its budget's period cannot cover. Not retryable: the job waits (held) or is rejected. */
export class BudgetExceededError extends InvalidInputError {
  constructor(
    readonly budget: BudgetRef,
    readonly amounts: Overspend,
    /** More about the rejection (how long the job waited). */
    detail = '',
  ) {
    const available = Math.max(0, amounts.limitMicros - amounts.spentMicros - amounts.reservedMicros);
    super(
      '',
      `budget ${budget.namespace}/${budget.name} (${budget.period}) cannot cover this job: ` +
        `estimated ${formatMoney(amounts.estimateMicros)}, spent ${formatMoney(amounts.spentMicros)}, ` +
        `reserved ${formatMoney(amounts.reservedMicros)}, limit ${formatMoney(amounts.limitMicros)}, ` +
        `available ${formatMoney(available)}${detail}`,
    );
  }
}
