/**
 * A deleted QiskitJob stops costing money: its simulation in this process stops, a run that has
 * not started never starts, and its provider task is cancelled. The reservation is not released
 * here: the job ends when collection sees the task cancelled, with what the provider bills for
 * it settled and the rest released (enforce-budget), or when the stopped run fails.
 */
import type { JobRef } from '../../events/schemas.ts';
import { cancelTask } from '../../shared/backends/cancel-task.ts';
import { taskRecordOfRun } from '../../shared/backends/task-record.ts';
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
