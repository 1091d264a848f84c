/**
 * Asking a provider to cancel a submitted task, once: a deleted job, or one whose task outlived
 * the poll deadline. The job ends when collection sees the task cancelled, with what the provider
 * bills for the state it was in when asked (task-record's `cancellation`).
 */
import type { Ports } from '../runtime/ports.ts';
import { saveTaskRecord, type TaskRecord } from './task-record.ts';
import { scheduledEntry } from './visibility.ts';

type Deps = Pick<Ports, 'config' | 'store' | 'cluster' | 'executors' | 'now' | 'log'>;

/** Asks the provider to cancel a job's task, once, and records that it did, in which state and why. */
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
  deps.log.info(
    { job: `${job.namespace}/${job.name}`, taskId, stateWhenAsked: answer.stateWhenAsked, why },
    'asked the provider to cancel a task',
  );
}
