/**
 * The record of a task handed to a provider, kept in the object store by execute: what
 * collect-results needs to find the task, read its result back into the circuit's
 * classical bits, and finish the job. It is stored in the run's folder and indexed by task
 * id, since Braket's state-change events name only the task.
 */
import { createHash } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import { type EventData, EVENT_DATA } from '../../events/schemas.ts';
import { EventType } from '../../events/types.ts';
import { runFolder } from '../jobs.ts';
import { readDocument } from '../storage/documents.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { MeasurementLayout } from './measurement-layout.ts';

/** One submitted task. */
export const TaskRecord = Type.Object({
  /** The submitted event's data: job, spec, circuit, backend, task id, budget. */
  submitted: EVENT_DATA[EventType.JobSubmitted],
  layout: MeasurementLayout,
  shots: Type.Integer({ minimum: 0 }),
  submittedAt: Type.String(),
  /** Set once qpipe asked the provider to cancel the task (its job was deleted). */
  cancellation: Type.Optional(
    Type.Object({ requestedAt: Type.String(), stateWhenAsked: Type.String(), why: Type.String() }),
  ),
});
export type TaskRecord = Static<typeof TaskRecord>;

function recordKey(job: EventData<typeof EventType.JobSubmitted>['job']): string {
  return `${runFolder(job)}/task.json`;
}

function indexKey(taskId: string): string {
  return `tasks/${createHash('sha256').update(taskId).digest('hex')}.json`;
}

/** Stores a task record under its run and its task id. */
export async function saveTaskRecord(store: ObjectStore, record: TaskRecord): Promise<void> {
  const body = JSON.stringify(record);
  await store.put(recordKey(record.submitted.job), body, 'application/json');
  await store.put(indexKey(record.submitted.taskId), body, 'application/json');
}

/** The task record of a job's run, if it was submitted. */
export async function taskRecordOfRun(
  store: ObjectStore,
  job: EventData<typeof EventType.JobSubmitted>['job'],
): Promise<TaskRecord | undefined> {
  return readDocument(store, recordKey(job), TaskRecord);
}

/** The task record of a provider task id, if qpipe submitted it. */
export async function taskRecordOfTask(store: ObjectStore, taskId: string): Promise<TaskRecord | undefined> {
  return readDocument(store, indexKey(taskId), TaskRecord);
}
