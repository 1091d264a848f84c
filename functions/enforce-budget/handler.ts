/**
 * enforce-budget: reserves a scheduled job's worst-case cost against its namespace's
 * QiskitBudget with compare-and-swap (so concurrent jobs can never overspend), settles the
 * actual cost on completion, releases the reservation on failure or rejection, and
 * raises threshold and exceeded alerts. It is the single writer of QiskitBudget status.
 */
import type { CloudEvent } from 'cloudevents';
import { buildEvent, buildJobEvent, carriedExtensions, type TypedEvent } from '../../events/envelope.ts';
import type { EventData } from '../../events/schemas.ts';
import { EventType, Stage, stageSource } from '../../events/types.ts';
import {
  crossThresholds,
  currentPeriod,
  type LedgerState,
  release,
  reserve,
  reservedMicros,
  settle,
  topCharges,
} from '../../shared/budget/ledger.ts';
import { updateLedger } from '../../shared/budget/ledger-store.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { jobKey, jobLabel } from '../../shared/jobs.ts';
import { formatMoney, parseMoney } from '../../shared/money.ts';
import type { QiskitBudget } from '../../shared/resources/schema.ts';
import { JobRejection } from '../../shared/runtime/outcomes.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { defineStage } from '../../shared/runtime/stage.ts';

type Deps = Pick<Ports, 'cluster' | 'ledger' | 'now'>;
type BudgetRef = NonNullable<EventData<typeof EventType.JobApproved>['budget']>;

type Input = TypedEvent<
  | typeof EventType.JobScheduled
  | typeof EventType.JobCompleted
  | typeof EventType.JobFailed
  | typeof EventType.JobRejected
>;

const source = stageSource(Stage.EnforceBudget);

/** The object-store key of one budget period's ledger. */
export function ledgerKey(budget: BudgetRef): string {
  return `ledgers/${budget.namespace}/${budget.name}/${budget.period}`;
}

/** Handles the events enforce-budget subscribes to. */
export async function enforceBudget(event: Input, deps: Deps): Promise<CloudEvent<unknown>[]> {
  switch (event.type) {
    case EventType.JobScheduled:
      return approve(event, deps);
    case EventType.JobCompleted:
      return settleJob(event, deps);
    case EventType.JobFailed:
    case EventType.JobRejected:
      return releaseJob(event, deps);
  }
}

async function approve(event: TypedEvent<typeof EventType.JobScheduled>, deps: Deps): Promise<CloudEvent<unknown>[]> {
  const { job, spec, circuit, backend, estimate } = event.data;
  const estimateMicros = estimate.totalMicros;
  const maxCost = spec.budget?.maxCost;
  if (maxCost !== undefined && estimateMicros > parseMoney(maxCost, 'spec.budget.maxCost')) {
    throw new InvalidInputError(
      'spec.budget.maxCost',
      `the estimated cost ${formatMoney(estimateMicros)} on ${backend.name} exceeds the job's maxCost ${maxCost}`,
    );
  }
  const budget = await deps.cluster.findBudget(job.namespace, spec.budget?.budgetRef);
  if (!budget && spec.budget?.budgetRef !== undefined) {
    throw new InvalidInputError(
      'spec.budget.budgetRef',
      `QiskitBudget ${job.namespace}/${spec.budget.budgetRef} does not exist`,
    );
  }
  const approved = (budgetRef?: BudgetRef) =>
    buildJobEvent(
      EventType.JobApproved,
      { job, spec, circuit, backend, estimate, ...(budgetRef ? { budget: budgetRef } : {}) },
      job,
      { source, ...carriedExtensions(event) },
    );
  if (!budget) return [approved()];

  const limitMicros = parseMoney(budget.spec.limit, `QiskitBudget ${budget.metadata.name}: spec.limit`);
  const budgetRef = refOf(budget, deps.now());
  const blockOnExceed = budget.spec.enforcement?.blockOnExceed ?? true;
  const outcome = await updateLedger(deps.ledger, ledgerKey(budgetRef), (state) => {
    const result = reserve(state, { jobKey: jobKey(job), job: jobLabel(job), micros: estimateMicros, limitMicros });
    if (result.kind !== 'insufficient' || blockOnExceed) return { state: result.state, result };
    // Without blockOnExceed the job proceeds over the limit; the reservation still records it.
    const forced = {
      ...state,
      reservations: { ...state.reservations, [jobKey(job)]: { micros: estimateMicros, job: jobLabel(job) } },
    };
    return { state: forced, result };
  });
  const ledgerAfter = await writeBudgetStatus(budget, budgetRef, deps);
  if (outcome.kind !== 'insufficient') return [approved(budgetRef)];

  const spent = ledgerAfter.spentMicros;
  const reserved = reservedMicros(ledgerAfter) - (blockOnExceed ? 0 : estimateMicros);
  const exceeded = buildEvent(
    EventType.BudgetExceeded,
    {
      budget: budgetRef,
      job,
      estimate: formatMoney(estimateMicros),
      spent: formatMoney(spent),
      reserved: formatMoney(reserved),
      limit: budget.spec.limit,
      blocked: blockOnExceed,
      ...(budget.spec.notificationEmail === undefined ? {} : { notificationEmail: budget.spec.notificationEmail }),
    },
    { source, subject: jobLabel(job), jobuid: job.uid, jobgeneration: job.generation, ...carriedExtensions(event) },
  );
  if (!blockOnExceed) return [approved(budgetRef), exceeded];
  const available = Math.max(0, limitMicros - spent - reserved);
  const message =
    `budget ${budgetRef.namespace}/${budgetRef.name} (${budgetRef.period}) cannot cover this job: ` +
    `estimated ${formatMoney(estimateMicros)}, spent ${formatMoney(spent)}, reserved ${formatMoney(reserved)}, ` +
    `limit ${formatMoney(limitMicros)}, available ${formatMoney(available)}`;
  throw new JobRejection(job, new InvalidInputError('', message), [exceeded]);
}

function refOf(budget: QiskitBudget, now: Date): BudgetRef {
  return {
    namespace: budget.metadata.namespace ?? 'default',
    name: budget.metadata.name,
    period: currentPeriod(budget.spec.period, now).key,
  };
}

async function settleJob(event: TypedEvent<typeof EventType.JobCompleted>, deps: Deps): Promise<CloudEvent<unknown>[]> {
  const { job, budget: budgetRef, actualCostMicros } = event.data;
  if (!budgetRef) return [];
  const budget = await deps.cluster.findBudget(budgetRef.namespace, budgetRef.name);
  const limitMicros = budget ? parseMoney(budget.spec.limit, 'spec.limit') : Number.POSITIVE_INFINITY;
  const thresholds = budget?.spec.alertThresholds ?? [];
  const { crossed, ledger } = await updateLedger(deps.ledger, ledgerKey(budgetRef), (state) => {
    const settled = settle(state, { jobKey: jobKey(job), job: jobLabel(job), micros: actualCostMicros });
    const next = crossThresholds(settled, limitMicros, thresholds);
    return { state: next.state, result: { crossed: next.crossed, ledger: next.state } };
  });
  if (budget) await writeBudgetStatus(budget, budgetRef, deps);
  return crossed.map((threshold) =>
    buildEvent(
      EventType.BudgetThreshold,
      {
        budget: budgetRef,
        threshold,
        spent: formatMoney(ledger.spentMicros),
        limit: budget?.spec.limit ?? 'unlimited',
        ...(budget?.spec.notificationEmail === undefined ? {} : { notificationEmail: budget.spec.notificationEmail }),
        topJobs: topCharges(ledger, 5).map((c) => ({ job: c.job, cost: formatMoney(c.micros) })),
      },
      {
        source,
        subject: `${budgetRef.namespace}/${budgetRef.name}`,
        // One alert per budget, period and threshold: the id is derived from them.
        jobuid: `${budgetRef.namespace}/${budgetRef.name}/${budgetRef.period}`,
        idParts: [String(threshold)],
        ...carriedExtensions(event),
      },
    ),
  );
}

async function releaseJob(
  event: TypedEvent<typeof EventType.JobFailed | typeof EventType.JobRejected>,
  deps: Deps,
): Promise<CloudEvent<unknown>[]> {
  const { job, budget: budgetRef } = event.data;
  if (!budgetRef) return [];
  await updateLedger(deps.ledger, ledgerKey(budgetRef), (state) => ({
    state: release(state, jobKey(job)),
    result: undefined,
  }));
  const budget = await deps.cluster.findBudget(budgetRef.namespace, budgetRef.name);
  if (budget) await writeBudgetStatus(budget, budgetRef, deps);
  return [];
}

async function writeBudgetStatus(budget: QiskitBudget, ref: BudgetRef, deps: Deps): Promise<LedgerState> {
  const { state } = await deps.ledger.read(ledgerKey(ref));
  const limit = parseMoney(budget.spec.limit, 'spec.limit');
  const reserved = reservedMicros(state);
  await deps.cluster.writeBudgetStatus(ref.namespace, ref.name, {
    phase: state.spentMicros >= limit ? 'Exceeded' : 'Active',
    spent: formatMoney(state.spentMicros),
    reserved: formatMoney(reserved),
    remaining: formatMoney(Math.max(0, limit - state.spentMicros - reserved)),
    periodStart: currentPeriod(budget.spec.period, deps.now()).start.toISOString(),
    notifiedThresholds: [...state.notifiedThresholds],
  });
  return state;
}

/** The enforce-budget stage, for any runtime to deploy. */
export const stage = defineStage(Stage.EnforceBudget, enforceBudget);
