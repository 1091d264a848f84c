/**
 * enforce-budget: reserves a scheduled job's worst-case cost against its namespace's
 * QiskitBudget with compare-and-swap (so concurrent jobs can never overspend), settles the
 * actual cost on completion, releases the reservation on failure or rejection, and raises
 * threshold and exceeded alerts. A job that does not fit a budget with blockOnExceed waits
 * (`io.quantum.job.held`, phase AwaitingBudget) until budget frees up or its gracePeriod
 * ends. It is the single writer of QiskitBudget status.
 */
import type { CloudEvent } from 'cloudevents';
import {
  buildEvent,
  buildJobEvent,
  carriedExtensions,
  type QpipeExtensions,
  type TypedEvent,
} from '../../events/envelope.ts';
import { type BudgetRef, EVENT_DATA, type EventData, type JobRef } from '../../events/schemas.ts';
import { EventType, Stage, stageSource } from '../../events/types.ts';
import { type AdmissionRequest, decideAdmission } from '../../shared/budget/admission.ts';
import { budgetStatus } from '../../shared/budget/budget-status.ts';
import {
  crossThresholds,
  currentPeriod,
  nextPeriodStart,
  type LedgerState,
  type Reclaimed,
  reclaimDead,
  release,
  removeWaiting,
  reservedMicros,
  settle,
  topCharges,
} from '../../shared/budget/ledger.ts';
import { reservationExpiry, runAllowanceMs, timeLimitsOf } from '../../shared/budget/reservation-terms.ts';
import { BudgetExceededError } from '../../shared/budget/budget-exceeded.ts';
import { ledgerKey, updateLedger } from '../../shared/budget/ledger-store.ts';
import { latestRunOf } from '../../shared/cluster/local-cluster.ts';
import { confirmedByCluster } from '../../shared/cluster/platform-events.ts';
import { formatDuration, parseDuration } from '../../shared/duration.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { jobKey, jobLabel } from '../../shared/jobs.ts';
import { formatMoney, parseMoney } from '../../shared/money.ts';
import type { QiskitBudget, QiskitJobSpec } from '../../shared/resources/schema.ts';
import { JobRejection } from '../../shared/runtime/outcomes.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { recordBudget } from '../../shared/observability/job-metrics.ts';
import { defineStage, type StageInput } from '../../shared/runtime/stage.ts';
import { objectIdentity } from '../../shared/resources/kubernetes-object.ts';
import { readDocument } from '../../shared/storage/documents.ts';
import { keySegment } from '../../shared/storage/key-segment.ts';

type Deps = Pick<
  Ports,
  'config' | 'cluster' | 'ledger' | 'store' | 'now' | 'metrics' | 'log' | 'runOwner' | 'scheduler'
>;
type Held = EventData<typeof EventType.JobHeld>;
/** What admission needs: the job's context as scheduled. */
type Admission = Omit<Held, 'budget' | 'reason' | 'heldSince' | 'deadline'>;

type Input = StageInput<typeof Stage.EnforceBudget>;

const source = stageSource(Stage.EnforceBudget);

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
      return budgetChanged(event, deps);
    case EventType.ResourceDeleted:
      return jobDeleted(event, deps);
    case EventType.JobCancel:
      return jobCancelled(event, deps);
    case EventType.BudgetExpiry:
      return expiryCame(event, deps);
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

const limitOf = (budget: QiskitBudget) =>
  parseMoney(budget.spec.limit, `QiskitBudget ${budget.metadata.name}: spec.limit`);

/** Where a held job's event is kept while it waits, for the re-checks that budget changes start. */
function heldRefOf(budgetRef: BudgetRef, job: JobRef): string {
  const run = keySegment(`${job.uid}-${job.generation}`);
  return `held/${keySegment(budgetRef.namespace)}/${keySegment(budgetRef.name)}/${run}.json`;
}

/** A job over its own maxCost never asks its budget. */
function checkMaxCost(job: Admission): void {
  const maxCost = job.spec.budget?.maxCost;
  const estimateMicros = job.estimate.totalMicros;
  if (maxCost !== undefined && estimateMicros > parseMoney(maxCost, 'spec.budget.maxCost')) {
    throw new InvalidInputError(
      'spec.budget.maxCost',
      `the estimated cost ${formatMoney(estimateMicros)} on ${job.backend.name} exceeds the job's maxCost ${maxCost}`,
    );
  }
}

/** Admits a scheduled (or held, re-checked) job: the decision is shared/budget/admission.ts's. */
async function admit(
  scheduled: Admission & { readonly candidates?: unknown },
  event: Input,
  deps: Deps,
  held?: { budget: BudgetRef; heldSince: string; deadline: string },
): Promise<CloudEvent<unknown>[]> {
  // Candidates were for people reading the scheduled event; approval carries the choice only.
  const { candidates: _candidates, ...job } = scheduled;
  checkMaxCost(job);
  const budget = await budgetOf(job.job.namespace, await budgetRefOf(job.spec, job.job.namespace, deps), deps);
  const options = { source, ...carriedExtensions(event) };
  const approved = (budgetRef?: BudgetRef) =>
    buildJobEvent(EventType.JobApproved, { ...job, ...(budgetRef ? { budget: budgetRef } : {}) }, job.job, options);
  if (!budget) {
    if (job.estimate.totalMicros > 0 && deps.config.budgets.unbudgetedPaidJobs === 'refuse') {
      throw new InvalidInputError(
        'spec.budget',
        `namespace ${job.job.namespace} has no QiskitBudget, and this installation runs no paid job without one ` +
          `(estimated ${formatMoney(job.estimate.totalMicros)} on ${job.backend.name})`,
      );
    }
    return [approved()];
  }

  const now = deps.now();
  const budgetRef = refOf(budget, now);
  const grace = budget.spec.enforcement?.gracePeriod;
  const request: AdmissionRequest = {
    jobKey: jobKey(job.job),
    job: jobLabel(job.job),
    estimateMicros: job.estimate.totalMicros,
    limitMicros: limitOf(budget),
    blockOnExceed: budget.spec.enforcement?.blockOnExceed ?? true,
    graceMs:
      grace === undefined
        ? 0
        : parseDuration(grace, `QiskitBudget ${budget.metadata.name}: spec.enforcement.gracePeriod`),
    now: now.getTime(),
    periodEndsAt: nextPeriodStart(budget.spec.period, now)?.getTime() ?? Number.POSITIVE_INFINITY,
    heldRef: heldRefOf(budgetRef, job.job),
    ...(held ? { held: { since: Date.parse(held.heldSince), deadline: Date.parse(held.deadline) } } : {}),
    terms: {
      expiresAt: reservationExpiry(now.getTime(), runAllowanceMs(job.backend.type, timeLimitsOf(deps.config))),
      ...(deps.runOwner ? { owner: deps.runOwner.id } : {}),
    },
  };
  const {
    state,
    result: decision,
    failed,
  } = await updateBooks(budgetRef, deps, event, (current) => {
    const admission = decideAdmission(current, request);
    return { state: admission.state, result: admission.decision };
  });
  if (held && ledgerKey(held.budget) !== ledgerKey(budgetRef)) {
    // The job waited in an earlier period's ledger: it no longer waits there.
    await updateLedger(deps.ledger, ledgerKey(held.budget), (current) => ({
      state: removeWaiting(current, request.jobKey),
      result: undefined,
    }));
  }
  await writeBudgetStatus(budget, budgetRef, state, deps);
  if (decision.kind === 'ended') return failed;
  // Should the run die with nobody else writing to this ledger, this takes its money back. Only
  // where delayed events outlive a process (a scheduler): in one process, the run and the check die together.
  const expiresAt = state.reservations[request.jobKey]?.expiresAt;
  const expiry = expiresAt === undefined || !deps.scheduler ? [] : [expiryCheck(budgetRef, job.job, expiresAt, event)];
  if (decision.kind === 'approved') return [...failed, approved(budgetRef), ...expiry];

  const exceeded = buildEvent(
    EventType.BudgetExceeded,
    {
      budget: budgetRef,
      job: job.job,
      estimate: formatMoney(decision.overspend.estimateMicros),
      spent: formatMoney(decision.overspend.spentMicros),
      reserved: formatMoney(decision.overspend.reservedMicros),
      limit: budget.spec.limit,
      blocked: decision.kind !== 'approved-over-limit',
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
  switch (decision.kind) {
    case 'approved-over-limit':
      return [...failed, approved(budgetRef), ...expiry, exceeded];
    case 'rejected': {
      // The exceeded alert goes out once, when the job is first held (or rejected at once).
      const waited =
        request.graceMs > 0 ? `; waited ${formatDuration(decision.waitedMs)} (gracePeriod ${String(grace)})` : '';
      const error = new BudgetExceededError(budgetRef, decision.overspend, waited);
      throw new JobRejection(job.job, error, [...failed, ...(decision.firstTime ? [exceeded] : [])]);
    }
    case 'held': {
      const data: Held = {
        ...job,
        budget: budgetRef,
        reason: new BudgetExceededError(budgetRef, decision.overspend).message,
        heldSince: new Date(decision.since).toISOString(),
        deadline: new Date(decision.deadline).toISOString(),
      };
      // After the ledger names it: a crash in between leaves the event's redelivery to write it.
      await deps.store.put(request.heldRef, JSON.stringify(data), 'application/json');
      const recheck = heldEvent(data, new Date(decision.recheckAt), event.extensions);
      return [...failed, ...(decision.firstTime ? [exceeded, recheck] : [recheck])];
    }
  }
}

function heldEvent(data: Held, notBefore: Date, extensions: QpipeExtensions): CloudEvent<unknown> {
  return buildJobEvent(EventType.JobHeld, data, data.job, {
    source,
    ...carriedExtensions({ extensions }),
    notbefore: notBefore.toISOString(),
  });
}

/**
 * Re-checks at once the jobs waiting on a budget period that fit what it has free now (budget
 * was freed or raised). Only those: every re-check is a ledger write, and re-checking all the
 * waiting jobs at every release (a rejected one releases nothing) made n waiting jobs cost n²
 * writes on one ledger, enough to stall an overloaded server. The rest wait for their own
 * re-check, or the next release that frees enough.
 */
async function nudgeWaiting(
  state: LedgerState,
  limitMicros: number | undefined,
  extensions: QpipeExtensions,
  deps: Deps,
): Promise<CloudEvent<unknown>[]> {
  const free =
    limitMicros === undefined ? Number.POSITIVE_INFINITY : limitMicros - state.spentMicros - reservedMicros(state);
  if (free <= 0) return [];
  const events: CloudEvent<unknown>[] = [];
  for (const entry of Object.values(state.waiting ?? {})) {
    const data = await readDocument(deps.store, entry.heldRef, EVENT_DATA[EventType.JobHeld]);
    if (data && data.estimate.totalMicros <= free) events.push(heldEvent(data, deps.now(), extensions));
  }
  return events;
}

async function settleJob(event: TypedEvent<typeof EventType.JobCompleted>, deps: Deps): Promise<CloudEvent<unknown>[]> {
  const { job, budget: budgetRef, actualCostMicros } = event.data;
  if (!budgetRef) return [];
  const budget = await deps.cluster.findBudget(budgetRef.namespace, budgetRef.name);
  const limitMicros = budget ? limitOf(budget) : Number.POSITIVE_INFINITY;
  const thresholds = budget?.spec.alertThresholds ?? [];
  const {
    result: crossed,
    state: ledger,
    failed,
  } = await updateBooks(budgetRef, deps, event, (state) => {
    const settled = settle(state, { jobKey: jobKey(job), job: jobLabel(job), micros: actualCostMicros });
    const next = crossThresholds(settled, limitMicros, thresholds);
    return { state: next.state, result: next.crossed };
  });
  if (budget) await writeBudgetStatus(budget, budgetRef, ledger, deps);
  // One alert for every threshold one charge crossed at once: its highest, naming the others.
  const highest = crossed.at(-1);
  const alerts = (highest === undefined ? [] : [highest]).map((threshold) =>
    buildEvent(
      EventType.BudgetThreshold,
      {
        budget: budgetRef,
        threshold,
        ...(crossed.length > 1 ? { crossed } : {}),
        spent: formatMoney(ledger.spentMicros),
        limit: budget?.spec.limit ?? 'unlimited',
        ...(budget?.spec.notificationEmail === undefined ? {} : { notificationEmail: budget.spec.notificationEmail }),
        topJobs: topCharges(ledger, 5).map((c) => ({ job: c.job, cost: formatMoney(c.micros) })),
      },
      {
        source,
        subject: `${budgetRef.namespace}/${budgetRef.name}`,
        // One alert per budget, period and crossing: the id is derived from them.
        jobuid: `${budgetRef.namespace}/${budgetRef.name}/${budgetRef.period}`,
        idParts: crossed.map(String),
        ...carriedExtensions(event),
      },
    ),
  );
  return [
    ...failed,
    ...alerts,
    ...(await nudgeWaiting(ledger, budget ? limitMicros : undefined, event.extensions, deps)),
  ];
}

/**
 * Applies a change to a period's ledger with one compare-and-swap, first taking back the
 * reservations of runs that died (expired, or their process gone): returns what the change
 * returned, the state it left, and the failure of each reclaimed run's job.
 */
async function updateBooks<R>(
  ref: BudgetRef,
  deps: Deps,
  cause: { readonly extensions: QpipeExtensions },
  change: (state: LedgerState) => { state: LedgerState; result: R },
): Promise<{ result: R; state: LedgerState; failed: CloudEvent<unknown>[] }> {
  const now = deps.now().getTime();
  const owner = deps.runOwner;
  const done = await updateLedger(deps.ledger, ledgerKey(ref), (current) => {
    const swept = reclaimDead(current, { now, ...(owner ? { ownerGone: (id: string) => owner.gone(id) } : {}) });
    const next = change(swept.state);
    return { state: next.state, result: { ...next, reclaimed: swept.reclaimed } };
  });
  const failed = done.reclaimed.map((dead) => reclaimedFailure(dead, ref, cause));
  return { result: done.result, state: done.state, failed };
}

/** The failure of a job whose run died holding a reservation. */
function reclaimedFailure(
  dead: Reclaimed,
  budget: BudgetRef,
  cause: { readonly extensions: QpipeExtensions },
): CloudEvent<unknown> {
  const slash = dead.job.indexOf('/');
  const at = dead.jobKey.lastIndexOf('/');
  const job: JobRef = {
    namespace: dead.job.slice(0, slash),
    name: dead.job.slice(slash + 1),
    uid: dead.jobKey.slice(0, at),
    generation: Number(dead.jobKey.slice(at + 1)),
  };
  const reason = `its run died: ${dead.why}; its reservation of ${formatMoney(dead.micros)} was released`;
  return buildJobEvent(EventType.JobFailed, { job, stage: Stage.EnforceBudget, reason, budget }, job, {
    source,
    ...carriedExtensions(cause),
  });
}

/** The check, a second after a reservation would expire, that reclaims it if its run has died. */
function expiryCheck(
  budget: BudgetRef,
  job: JobRef,
  expiresAt: number,
  cause: { readonly extensions: QpipeExtensions },
): CloudEvent<unknown> {
  return buildJobEvent(EventType.BudgetExpiry, { budget, job, expiresAt: new Date(expiresAt).toISOString() }, job, {
    source,
    ...carriedExtensions(cause),
    notbefore: new Date(expiresAt + 1000).toISOString(),
  });
}

/**
 * A reservation's expiry came: the ledger is swept (as every write sweeps it), so the money of
 * a run that died comes back, and its job fails, even when no other job uses the budget.
 */
async function expiryCame(
  event: TypedEvent<typeof EventType.BudgetExpiry>,
  deps: Deps,
): Promise<CloudEvent<unknown>[]> {
  const ref = event.data.budget;
  const { state, failed } = await changeLedger(ref, (current) => current, deps, event);
  const budget = await deps.cluster.findBudget(ref.namespace, ref.name);
  if (budget && ledgerKey(refOf(budget, deps.now())) === ledgerKey(ref)) {
    await writeBudgetStatus(budget, ref, state, deps);
  }
  return failed.length > 0
    ? [...failed, ...(await nudgeWaiting(state, budget ? limitOf(budget) : undefined, event.extensions, deps))]
    : [];
}

/** Applies a change to a period's ledger; returns the state it left and the failures of reclaimed runs. */
async function changeLedger(
  ref: BudgetRef,
  change: (state: LedgerState) => LedgerState,
  deps: Deps,
  cause: { readonly extensions: QpipeExtensions },
): Promise<{ state: LedgerState; failed: CloudEvent<unknown>[] }> {
  const { state, failed } = await updateBooks(ref, deps, cause, (current) => ({
    state: change(current),
    result: null,
  }));
  return { state, failed };
}

async function releaseJob(
  event: TypedEvent<typeof EventType.JobFailed | typeof EventType.JobRejected>,
  deps: Deps,
): Promise<CloudEvent<unknown>[]> {
  const { job, budget: budgetRef } = event.data;
  if (!budgetRef) return [];
  // A failed job whose provider still bills something (a cancelled task that ran) is charged that.
  const charged = event.type === EventType.JobFailed ? (event.data.actualCostMicros ?? 0) : 0;
  const { state: ledger, failed } = await changeLedger(
    budgetRef,
    (state) =>
      charged > 0
        ? settle(state, { jobKey: jobKey(job), job: jobLabel(job), micros: charged })
        : release(state, jobKey(job)),
    deps,
    event,
  );
  const budget = await deps.cluster.findBudget(budgetRef.namespace, budgetRef.name);
  if (budget) await writeBudgetStatus(budget, budgetRef, ledger, deps);
  return [...failed, ...(await nudgeWaiting(ledger, budget ? limitOf(budget) : undefined, event.extensions, deps))];
}

/** A deleted QiskitJob gives back its reservation and stops waiting for budget. */
async function jobDeleted(
  event: TypedEvent<typeof EventType.ResourceDeleted>,
  deps: Deps,
): Promise<CloudEvent<unknown>[]> {
  const object = objectIdentity(event.data);
  const metadata = object?.metadata;
  if (object?.kind !== 'QiskitJob' || !metadata?.uid) return [];
  const namespace = metadata.namespace ?? 'default';
  // A forged deletion must not free a running job's money: the job must really be gone.
  const claim = { kind: 'QiskitJob', namespace, name: metadata.name, uid: metadata.uid, change: 'deleted' } as const;
  if (!(await confirmedByCluster(claim, deps))) return [];
  const run = { namespace, name: metadata.name, uid: metadata.uid, generation: metadata.generation ?? 1 };
  return endRun(run, object.spec?.budget?.budgetRef, event, deps);
}

/** A job published as an event is cancelled (`qpipe cancel`): as a deletion, for its latest run. */
async function jobCancelled(event: TypedEvent<typeof EventType.JobCancel>, deps: Deps): Promise<CloudEvent<unknown>[]> {
  const run = await latestRunOf(deps.store, event.data.job.namespace, event.data.job.name);
  return run ? endRun(run, undefined, event, deps) : [];
}

/**
 * A run that will not go on stops waiting for budget. Its reservation is not released here:
 * the run may be starting or running right now. It is released when the run itself ends (execute
 * fails a deleted run before it starts, stops its simulation, or collection sees the provider
 * confirm the cancellation and settles what it bills), or reclaimed when it expires.
 */
async function endRun(
  run: JobRef,
  budgetName: string | undefined,
  event: { readonly extensions: QpipeExtensions },
  deps: Deps,
): Promise<CloudEvent<unknown>[]> {
  const budgets =
    budgetName === undefined
      ? await deps.cluster.listBudgets(run.namespace)
      : [await deps.cluster.findBudget(run.namespace, budgetName)];
  const key = jobKey(run);
  const events: CloudEvent<unknown>[] = [];
  for (const budget of budgets) {
    if (!budget) continue;
    const ref = refOf(budget, deps.now());
    const { state: ledger, failed } = await changeLedger(ref, (state) => removeWaiting(state, key), deps, event);
    await writeBudgetStatus(budget, ref, ledger, deps);
    events.push(...failed);
  }
  return events;
}

/** A QiskitBudget changed (its limit raised, say): waiting jobs get another look. */
async function budgetChanged(
  event: TypedEvent<typeof EventType.ResourceUpdated>,
  deps: Deps,
): Promise<CloudEvent<unknown>[]> {
  const object = objectIdentity(event.data);
  if (object?.kind !== 'QiskitBudget') return [];
  const budget = await deps.cluster.findBudget(object.metadata.namespace ?? 'default', object.metadata.name);
  if (!budget) return [];
  const ref = refOf(budget, deps.now());
  const { state, failed } = await changeLedger(ref, (current) => current, deps, event);
  await writeBudgetStatus(budget, ref, state, deps);
  return [...failed, ...(await nudgeWaiting(state, limitOf(budget), event.extensions, deps))];
}

/** Writes the budget's status (enforce-budget is its only writer) from the ledger state a change left. */
async function writeBudgetStatus(budget: QiskitBudget, ref: BudgetRef, state: LedgerState, deps: Deps): Promise<void> {
  const limit = limitOf(budget);
  const periodStart = currentPeriod(budget.spec.period, deps.now()).start;
  await deps.cluster.writeBudgetStatus(ref.namespace, ref.name, budgetStatus(state, limit, periodStart));
  recordBudget(deps.metrics, ref.namespace, ref.name, {
    spent: state.spentMicros,
    limit,
    reserved: reservedMicros(state),
  });
}

/** The enforce-budget stage, for any runtime to deploy. */
export const stage = defineStage(Stage.EnforceBudget, enforceBudget);
