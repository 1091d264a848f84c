/**
 * enforce-budget: reserves a scheduled job's worst-case cost against its namespace's
 * QiskitBudget with compare-and-swap (so concurrent jobs can never overspend), settles the
 * actual cost on completion, releases the reservation on failure or rejection, and raises
 * threshold and exceeded alerts. A job that does not fit a budget with blockOnExceed waits
 * (`io.quantum.job.held`, phase AwaitingBudget) until budget frees up or its gracePeriod
 * ends. It is the single writer of QiskitBudget status.
 */
import type { CloudEvent } from 'cloudevents';
import { buildEvent, buildJobEvent, carriedExtensions, type TypedEvent } from '../../events/envelope.ts';
import type { BudgetRef, EventData } from '../../events/schemas.ts';
import { EventType, Stage, stageSource } from '../../events/types.ts';
import {
  addWaiting,
  crossThresholds,
  currentPeriod,
  nextPeriodStart,
  type LedgerState,
  release,
  removeWaiting,
  type ReserveOutcome,
  reserve,
  reservedMicros,
  settle,
  topCharges,
} from '../../shared/budget/ledger.ts';
import { BudgetExceededError } from '../../shared/budget/budget-exceeded.ts';
import { ledgerKey, updateLedger } from '../../shared/budget/ledger-store.ts';
import { formatDuration, parseDuration } from '../../shared/duration.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { jobKey, jobLabel } from '../../shared/jobs.ts';
import { formatMoney, parseMoney } from '../../shared/money.ts';
import type { QiskitBudget, QiskitJobSpec } from '../../shared/resources/schema.ts';
import { JobRejection } from '../../shared/runtime/outcomes.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { recordBudget } from '../../shared/observability/job-metrics.ts';
import { defineStage, type StageInput } from '../../shared/runtime/stage.ts';
import { getJson } from '../../shared/storage/object-store.ts';
import { keySegment } from '../../shared/storage/key-segment.ts';

type Deps = Pick<Ports, 'cluster' | 'ledger' | 'store' | 'now'>;
type Held = EventData<typeof EventType.JobHeld>;
/** What admission needs: the job's context as scheduled. */
type Admission = Omit<Held, 'budget' | 'reason' | 'heldSince' | 'deadline'>;

type Input = StageInput<typeof Stage.EnforceBudget>;

const source = stageSource(Stage.EnforceBudget);
// Re-checks of a held job start after this and back off to at most MAX_RECHECK_MS. They are
// a safety net: whatever frees budget (a settlement, a release, a raised limit) re-checks the
// waiting jobs at once, and the grace deadline and the next period are timers of their own,
// so a job held for 24 h costs about 35 re-checks, not thousands.
const MIN_RECHECK_MS = 5_000;
const MAX_RECHECK_MS = 3_600_000;

/** Handles the events enforce-budget subscribes to. */
export async function enforceBudget(event: Input, deps: Deps): Promise<CloudEvent<unknown>[]> {
  switch (event.type) {
    case EventType.JobScheduled:
      return admit(event.data, event, deps);
    case EventType.JobHeld: {
      const { budget, reason: _reason, heldSince, deadline, ...admission } = event.data;
      return admit(admission, event, deps, { budget, heldSince, deadline });
    }
    case EventType.JobCompleted:
      return settleJob(event, deps);
    case EventType.JobFailed:
    case EventType.JobRejected:
      return releaseJob(event, deps);
    case EventType.ResourceUpdated:
      return budgetChanged(event.data, deps);
    case EventType.ResourceDeleted:
      return jobDeleted(event, deps);
  }
}

/** The budget a job names: its QiskitSession's when it runs in one that names a budget, else its own. */
async function budgetRefOf(spec: QiskitJobSpec, namespace: string, deps: Deps): Promise<string | undefined> {
  if (spec.session === undefined) return spec.budget?.budgetRef;
  const session = await deps.cluster.findSession(namespace, spec.session);
  return session?.spec.budgetRef ?? spec.budget?.budgetRef;
}

/** The job's budget: the one it names, or its namespace's only one; several without a name is an error. */
async function budgetOf(namespace: string, name: string | undefined, deps: Deps): Promise<QiskitBudget | undefined> {
  if (name !== undefined) {
    const named = await deps.cluster.findBudget(namespace, name);
    if (!named)
      throw new InvalidInputError('spec.budget.budgetRef', `QiskitBudget ${namespace}/${name} does not exist`);
    return named;
  }
  const budgets = await deps.cluster.listBudgets(namespace);
  if (budgets.length > 1) {
    const names = budgets.map((b) => b.metadata.name).join(', ');
    throw new InvalidInputError(
      'spec.budget.budgetRef',
      `namespace ${namespace} has several QiskitBudgets (${names}); name one in spec.budget.budgetRef`,
    );
  }
  return budgets[0];
}

function refOf(budget: QiskitBudget, now: Date): BudgetRef {
  return {
    namespace: budget.metadata.namespace ?? 'default',
    name: budget.metadata.name,
    period: currentPeriod(budget.spec.period, now).key,
  };
}

async function admit(
  scheduled: Admission & { readonly candidates?: unknown },
  event: Input,
  deps: Deps,
  held?: { budget: BudgetRef; heldSince: string; deadline: string },
): Promise<CloudEvent<unknown>[]> {
  // Candidates were for people reading the scheduled event; approval carries the choice only.
  const { candidates: _candidates, ...job } = scheduled;
  const { estimate, backend, spec } = job;
  const estimateMicros = estimate.totalMicros;
  const maxCost = spec.budget?.maxCost;
  if (maxCost !== undefined && estimateMicros > parseMoney(maxCost, 'spec.budget.maxCost')) {
    throw new InvalidInputError(
      'spec.budget.maxCost',
      `the estimated cost ${formatMoney(estimateMicros)} on ${backend.name} exceeds the job's maxCost ${maxCost}`,
    );
  }
  const budget = await budgetOf(job.job.namespace, await budgetRefOf(spec, job.job.namespace, deps), deps);
  const options = { source, ...carriedExtensions(event) };
  const approved = (budgetRef?: BudgetRef) =>
    buildJobEvent(EventType.JobApproved, { ...job, ...(budgetRef ? { budget: budgetRef } : {}) }, job.job, options);
  if (!budget) return [approved()];

  const now = deps.now();
  const limitMicros = parseMoney(budget.spec.limit, `QiskitBudget ${budget.metadata.name}: spec.limit`);
  const budgetRef = refOf(budget, now);
  const blockOnExceed = budget.spec.enforcement?.blockOnExceed ?? true;
  const key = jobKey(job.job);
  const outcome = await updateLedger<ReserveOutcome>(deps.ledger, ledgerKey(budgetRef), (state) => {
    const result = reserve(state, { jobKey: key, job: jobLabel(job.job), micros: estimateMicros, limitMicros });
    if (result.kind !== 'insufficient') return { state: removeWaiting(result.state, key), result };
    if (blockOnExceed) return { state, result };
    // Without blockOnExceed the job proceeds over the limit; the reservation still records it.
    const forced = {
      ...state,
      reservations: { ...state.reservations, [key]: { micros: estimateMicros, job: jobLabel(job.job) } },
    };
    return { state: forced, result };
  });
  if (held && ledgerKey(held.budget) !== ledgerKey(budgetRef)) {
    // The job waited in an earlier period's ledger.
    await updateLedger(deps.ledger, ledgerKey(held.budget), (state) => ({
      state: removeWaiting(state, key),
      result: undefined,
    }));
  }
  const ledgerAfter = await writeBudgetStatus(budget, budgetRef, deps);
  if (outcome.kind !== 'insufficient') return [approved(budgetRef)];

  const spent = ledgerAfter.spentMicros;
  const reserved = reservedMicros(ledgerAfter) - (blockOnExceed ? 0 : estimateMicros);
  const overspend = { estimateMicros, spentMicros: spent, reservedMicros: reserved, limitMicros };
  const reason = new BudgetExceededError(budgetRef, overspend).message;
  const exceeded = buildEvent(
    EventType.BudgetExceeded,
    {
      budget: budgetRef,
      job: job.job,
      estimate: formatMoney(estimateMicros),
      spent: formatMoney(spent),
      reserved: formatMoney(reserved),
      limit: budget.spec.limit,
      blocked: blockOnExceed,
      ...(budget.spec.notificationEmail === undefined ? {} : { notificationEmail: budget.spec.notificationEmail }),
    },
    {
      source,
      subject: jobLabel(job.job),
      jobuid: job.job.uid,
      jobgeneration: job.job.generation,
      ...carriedExtensions(event),
    },
  );
  if (!blockOnExceed) return [approved(budgetRef), exceeded];

  // The exceeded alert goes out once, when the job is first held.
  const alerts = held ? [] : [exceeded];
  const heldSince = held?.heldSince ?? now.toISOString();
  const grace = budget.spec.enforcement?.gracePeriod;
  const graceMs =
    grace === undefined
      ? 0
      : parseDuration(grace, `QiskitBudget ${budget.metadata.name}: spec.enforcement.gracePeriod`);
  const deadline = held?.deadline ?? new Date(now.getTime() + graceMs).toISOString();
  if (now.getTime() >= Date.parse(deadline)) {
    await updateLedger(deps.ledger, ledgerKey(budgetRef), (state) => ({
      state: removeWaiting(state, key),
      result: undefined,
    }));
    const waited =
      graceMs > 0 ? `; waited ${formatDuration(now.getTime() - Date.parse(heldSince))} (gracePeriod ${grace})` : '';
    throw new JobRejection(job.job, new BudgetExceededError(budgetRef, overspend, waited), alerts);
  }
  const data: Held = { ...job, budget: budgetRef, reason, heldSince, deadline };
  const heldRef = `held/${keySegment(budgetRef.namespace)}/${keySegment(budgetRef.name)}/${keySegment(`${job.job.uid}-${job.job.generation}`)}.json`;
  await deps.store.put(heldRef, JSON.stringify(data), 'application/json');
  await updateLedger(deps.ledger, ledgerKey(budgetRef), (state) => ({
    state: addWaiting(state, key, { job: jobLabel(job.job), heldRef }),
    result: undefined,
  }));
  const waitedMs = now.getTime() - Date.parse(heldSince);
  const periodEnds = nextPeriodStart(budget.spec.period, now)?.getTime() ?? Number.POSITIVE_INFINITY;
  const delay = Math.min(
    Math.max(MIN_RECHECK_MS, waitedMs),
    MAX_RECHECK_MS,
    Date.parse(deadline) - now.getTime(),
    periodEnds - now.getTime(),
  );
  return [...alerts, heldEvent(data, new Date(now.getTime() + delay), event)];
}

function heldEvent(data: Held, notBefore: Date, cause: Input): CloudEvent<unknown> {
  return buildJobEvent(EventType.JobHeld, data, data.job, {
    source,
    ...carriedExtensions(cause),
    notbefore: notBefore.toISOString(),
  });
}

/** Re-checks at once every job waiting on a budget period (budget was freed or raised). */
async function nudgeWaiting(budget: BudgetRef, cause: Input, deps: Deps): Promise<CloudEvent<unknown>[]> {
  const { state } = await deps.ledger.read(ledgerKey(budget));
  const events: CloudEvent<unknown>[] = [];
  for (const entry of Object.values(state.waiting ?? {})) {
    const data = (await getJson(deps.store, entry.heldRef)) as Held | undefined;
    if (data) events.push(heldEvent(data, deps.now(), cause));
  }
  return events;
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
  const alerts = crossed.map((threshold) =>
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
  return [...alerts, ...(await nudgeWaiting(budgetRef, event, deps))];
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
  return nudgeWaiting(budgetRef, event, deps);
}

/** A deleted QiskitJob gives back its reservation and stops waiting for budget. */
async function jobDeleted(
  event: TypedEvent<typeof EventType.ResourceDeleted>,
  deps: Deps,
): Promise<CloudEvent<unknown>[]> {
  const object = event.data as {
    kind?: unknown;
    metadata?: { namespace?: string; name?: string; uid?: string; generation?: number };
    spec?: { budget?: { budgetRef?: string } };
  };
  const metadata = object.metadata;
  if (object.kind !== 'QiskitJob' || !metadata?.name || !metadata.uid) return [];
  const namespace = metadata.namespace ?? 'default';
  const name = object.spec?.budget?.budgetRef;
  const budgets =
    name === undefined ? await deps.cluster.listBudgets(namespace) : [await deps.cluster.findBudget(namespace, name)];
  const key = jobKey({ namespace, name: metadata.name, uid: metadata.uid, generation: metadata.generation ?? 1 });
  const events: CloudEvent<unknown>[] = [];
  for (const budget of budgets) {
    if (!budget) continue;
    const ref = refOf(budget, deps.now());
    await updateLedger(deps.ledger, ledgerKey(ref), (state) => ({
      state: removeWaiting(release(state, key), key),
      result: undefined,
    }));
    await writeBudgetStatus(budget, ref, deps);
    events.push(...(await nudgeWaiting(ref, event, deps)));
  }
  return events;
}

/** A QiskitBudget changed (its limit raised, say): waiting jobs get another look. */
async function budgetChanged(object: Record<string, unknown>, deps: Deps): Promise<CloudEvent<unknown>[]> {
  if (object['kind'] !== 'QiskitBudget') return [];
  const metadata = (object['metadata'] ?? {}) as { namespace?: string; name?: string };
  if (!metadata.name) return [];
  const budget = await deps.cluster.findBudget(metadata.namespace ?? 'default', metadata.name);
  if (!budget) return [];
  const ref = refOf(budget, deps.now());
  await writeBudgetStatus(budget, ref, deps);
  const cause = { extensions: {} } as Input;
  return nudgeWaiting(ref, cause, deps);
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
  recordBudget(ref.namespace, ref.name, { spent: state.spentMicros, limit, reserved });
  return state;
}

/** The enforce-budget stage, for any runtime to deploy. */
export const stage = defineStage(Stage.EnforceBudget, enforceBudget);
