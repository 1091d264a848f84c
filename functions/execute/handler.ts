/**
 * execute: on `io.quantum.job.approved`, runs the job on its backend. A backend that
 * finishes at once (the simulator) yields `io.quantum.job.executed` with the raw result in
 * the object store; a provider that finishes later yields `io.quantum.job.submitted`.
 * Idempotent: a duplicate approval finds the stored result or task record and re-emits the
 * same event; one that arrives while the first copy still runs finds its in-progress claim
 * and is retried later, so a job runs once; providers deduplicate submissions too (Braket
 * clientToken, IBM run tag).
 */
import type { CloudEvent } from 'cloudevents';
import { buildJobEvent, carriedExtensions, type TypedEvent } from '../../events/envelope.ts';
import { EventType, Stage, stageSource } from '../../events/types.ts';
import type { BackendEntry, BackendExecutor } from '../../shared/backends/backend.ts';
import { saveTaskRecord, type TaskRecord, taskRecordOfRun } from '../../shared/backends/task-record.ts';
import type { BudgetRef } from '../../events/schemas.ts';
import { ledgerKey } from '../../shared/budget/ledger-store.ts';
import { reservationProblem, runAllowanceMs, timeLimitsOf } from '../../shared/budget/reservation-terms.ts';
import { InvalidInputError, PermanentError } from '../../shared/errors.ts';
import { jobKey, jobShots, loadCircuitSource, runFolder } from '../../shared/jobs.ts';
import { compileQasmCached } from '../../shared/qasm/compile-cache.ts';
import type { Circuit } from '../../shared/qasm/circuit.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { defineStage, type StageInput } from '../../shared/runtime/stage.ts';
import { type RawResult, rawResultKey, readRawResult, storeRawResult } from '../../shared/results.ts';
import { claimWork } from '../../shared/idempotency/claims.ts';
import { keySegment } from '../../shared/storage/key-segment.ts';
import { scheduledEntry } from '../../shared/backends/visibility.ts';
import { objectIdentity } from '../../shared/resources/kubernetes-object.ts';
import { closeDeletedSession, sessionIdFor } from './session.ts';
import { cancelTask } from '../../shared/backends/cancel-task.ts';
import { onJobDeleted, wasDeleted } from './deletion.ts';
import { latestRunOf } from '../../shared/cluster/local-cluster.ts';
import { confirmedByCluster } from '../../shared/cluster/platform-events.ts';

type Deps = Pick<Ports, 'config' | 'store' | 'cluster' | 'executors' | 'ledger' | 'now' | 'signal' | 'log' | 'running'>;

/** Runs an approved job; closes the provider session of a deleted QiskitSession. */
export async function execute(event: StageInput<typeof Stage.Execute>, deps: Deps): Promise<CloudEvent<unknown>[]> {
  if (event.type === EventType.JobApproved) return runApproved(event, deps);
  if (event.type === EventType.JobCancel) {
    const { namespace, name } = event.data.job;
    const run = await latestRunOf(deps.store, namespace, name);
    if (run) await onJobDeleted(run, `it was cancelled (${event.data.reason})`, deps);
    return [];
  }
  const object = objectIdentity(event.data);
  if (object?.kind !== 'QiskitSession' && object?.kind !== 'QiskitJob') return [];
  const namespace = object.metadata.namespace ?? 'default';
  const { name, uid } = object.metadata;
  if (!(await confirmedByCluster({ kind: object.kind, namespace, name, uid, change: 'deleted' }, deps))) return [];
  if (object.kind === 'QiskitSession') await closeDeletedSession(namespace, name, deps);
  else if (uid !== undefined) {
    const run = { namespace, name, uid, generation: object.metadata.generation ?? 1 };
    await onJobDeleted(run, `its QiskitJob was deleted at ${deps.now().toISOString()}`, deps);
  }
  return [];
}

/** Runs one approved job. */
async function runApproved(
  event: TypedEvent<typeof EventType.JobApproved>,
  deps: Deps,
): Promise<CloudEvent<unknown>[]> {
  const { job, spec, circuit, backend, budget } = event.data;
  const resultRef = rawResultKey(runFolder(job));
  const executed = (raw: RawResult) =>
    buildJobEvent(
      EventType.JobExecuted,
      { job, spec, circuit, backend, resultRef, actualCostMicros: raw.actualCostMicros, ...(budget ? { budget } : {}) },
      job,
      { source: stageSource(Stage.Execute), ...carriedExtensions(event) },
    );

  const submitted = (record: TaskRecord) =>
    buildJobEvent(EventType.JobSubmitted, record.submitted, job, {
      source: stageSource(Stage.Execute),
      ...carriedExtensions(event),
    });

  const executor = deps.executors[backend.type];
  if (!executor) throw new InvalidInputError('backend', `${backend.type} is not configured in this deployment`);
  // What an earlier copy of this event left: a result, or (for providers) a submitted task.
  const earlier = async () => {
    const previous = await readRawResult(deps.store, resultRef);
    if (previous) return executed(previous);
    const previousTask = executor.collect ? await taskRecordOfRun(deps.store, job) : undefined;
    return previousTask ? submitted(previousTask) : undefined;
  };
  const done = await earlier();
  if (done) return [done];
  const claim = await claimWork({
    store: deps.store,
    work: `execute/${keySegment(`${job.uid}-${job.generation}`)}`,
    leaseMs: deps.config.claimLeaseSeconds * 1000,
    now: () => deps.now().getTime(),
  });
  try {
    // The holder before us may have finished between the first look and the claim.
    const finished = await earlier();
    return finished ? [finished] : [await run(executor)];
  } finally {
    await claim.release();
  }

  async function run(executor: BackendExecutor): Promise<CloudEvent<unknown>> {
    // A run stopped (Ctrl-C, SIGTERM) starts nothing more; its job fails and its money is released.
    deps.signal?.throwIfAborted();
    // Registered before the deletion check: a deletion either finds the run here to stop,
    // or wrote its mark before the check below reads it.
    const work = deps.running?.start(jobKey(job), deps.signal);
    try {
      if (await wasDeleted(job, deps)) throw new PermanentError('not run: its QiskitJob was deleted or cancelled');
      if (budget) await checkReservation(budget);
      const entry = await scheduledEntry(job.namespace, backend.name, deps);
      return await runOn(executor, entry, work?.signal ?? deps.signal);
    } finally {
      work?.done();
    }
  }

  async function runOn(
    executor: BackendExecutor,
    entry: BackendEntry,
    signal: AbortSignal | undefined,
  ): Promise<CloudEvent<unknown>> {
    const source = await loadCircuitSource(circuit, deps.store);
    const limits = deps.config.circuitLimits;
    let compiled: Circuit | undefined;
    const seed = spec.execution?.seedSimulator;
    const optimizationLevel = spec.execution?.optimizationLevel;
    const sessionId = spec.session ? await sessionIdFor(spec.session, job, entry, executor, deps) : undefined;
    const outcome = await executor.execute({
      job,
      // Compiled when an executor reads it: the built-in simulator may compile it on a worker instead.
      get circuit() {
        return (compiled ??= compileQasmCached(source, { limits }).circuit);
      },
      program: { source, limits },
      shots: jobShots(spec),
      backend: entry,
      ...(seed === undefined ? {} : { seed }),
      ...(optimizationLevel === undefined ? {} : { optimizationLevel }),
      ...(sessionId === undefined ? {} : { sessionId }),
      ...(signal === undefined ? {} : { signal }),
    });
    if (outcome.kind === 'submitted') {
      const record: TaskRecord = {
        submitted: { job, spec, circuit, backend, taskId: outcome.taskId, ...(budget ? { budget } : {}) },
        layout: outcome.layout,
        shots: jobShots(spec),
        submittedAt: deps.now().toISOString(),
      };
      await saveTaskRecord(deps.store, record);
      // Deleted while it was being submitted: cancelled at once (the deletion found no task yet).
      if (await wasDeleted(job, deps))
        await cancelTask(record, 'its QiskitJob was deleted or cancelled while it was submitted', deps);
      return submitted(record);
    }
    const { counts, shots, durationMs, billedSeconds, note } = outcome;
    const run = { counts, shots, durationMs, billedSeconds, ...(note === undefined ? {} : { note }) };
    return executed(await storeRawResult(deps.store, resultRef, run, entry.pricing));
  }

  /** A run starts only on a reservation that will outlast it (read only: enforce-budget writes ledgers). */
  async function checkReservation(ref: BudgetRef): Promise<void> {
    const { state } = await deps.ledger.read(ledgerKey(ref));
    const problem = reservationProblem(state, jobKey(job), {
      now: deps.now().getTime(),
      allowanceMs: runAllowanceMs(backend.type, timeLimitsOf(deps.config)),
    });
    if (problem !== undefined) throw new PermanentError(`not run: ${problem}`);
  }
}

/** The execute stage, for any runtime to deploy. */
export const stage = defineStage(Stage.Execute, execute);
