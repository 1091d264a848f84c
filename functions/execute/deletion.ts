/**
 * A deleted QiskitJob stops costing money: its simulation in this process stops, a run that has
 * not started never starts, and its provider task is cancelled. The reservation is not released
 * here: the job ends when collection sees the task cancelled, with what the provider bills for
 * it settled and the rest released (enforce-budget), or when the stopped run fails.
 */
import type { JobRef } from '../../events/schemas.ts';
import { saveTaskRecord, type TaskRecord, taskRecordOfRun } from '../../shared/backends/task-record.ts';
import { scheduledEntry } from '../../shared/backends/visibility.ts';
import { PermanentError } from '../../shared/errors.ts';
import { jobKey, runFolder } from '../../shared/jobs.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { getJson } from '../../shared/storage/object-store.ts';

type Deps = Pick<Ports, 'config' | 'store' | 'cluster' | 'executors' | 'now' | 'running' | 'log'>;

const markerKey = (job: JobRef) => `${runFolder(job)}/deleted.json`;

/** Whether the job's object was deleted: its run must not start, or must be cancelled. */
export async function wasDeleted(job: JobRef, deps: Pick<Deps, 'store'>): Promise<boolean> {
  return (await getJson(deps.store, markerKey(job))) !== undefined;
}

/** Handles a confirmed deletion of a job's object, or a request to cancel a published job (`why` says which). */
export async function onJobDeleted(job: JobRef, why: string, deps: Deps): Promise<void> {
  await deps.store.put(markerKey(job), JSON.stringify({ why }), 'application/json');
  if (deps.running?.stop(jobKey(job), new PermanentError(`stopped: ${why}`))) {
    deps.log.info({ job: `${job.namespace}/${job.name}` }, 'stopped the simulation of a deleted job');
  }
  const record = await taskRecordOfRun(deps.store, job);
  if (record) await cancelTask(record, why, deps);
}

/** Asks the provider to cancel a job's task, once, and records that it did and in which state. */
export async function cancelTask(record: TaskRecord, why: string, deps: Deps): Promise<void> {
  if (record.cancellation) return;
  const { job, backend, taskId } = record.submitted;
  const executor = deps.executors[backend.type];
  if (!executor?.cancel) return;
  const entry = await scheduledEntry(job.namespace, backend.name, deps);
  const answer = await executor.cancel({ taskId, backend: entry, layout: record.layout, shots: record.shots });
  // Only the delivery that asked records in which state it found the task; another found it cancelling.
  if (!answer.asked) return;
  const cancellation = { requestedAt: deps.now().toISOString(), stateWhenAsked: answer.stateWhenAsked, why };
  await saveTaskRecord(deps.store, { ...record, cancellation });
  const stateWhenAsked = answer.stateWhenAsked;
  deps.log.info(
    { job: `${job.namespace}/${job.name}`, taskId, stateWhenAsked },
    'asked the provider to cancel a deleted job',
  );
}
