/**
 * Every job leaves an audit record: who or what asked for it, each decision with its amounts
 * (backend and estimate, reservation, hold, charge), provider task ids and the final phase,
 * one entry per lifecycle event, kept in the store as one document per run. collect-results
 * writes it as it projects each event, so it has one writer, like status; `qpipe audit`
 * reads it.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { AnyTypedEvent } from '../events/envelope.ts';
import type { JobRef } from '../events/schemas.ts';
import { EventType } from '../events/types.ts';
import { formatMoney } from './money.ts';
import { updateDocument } from './storage/compare-and-swap.ts';
import { keySegment } from './storage/key-segment.ts';
import type { ObjectStore } from './storage/object-store.ts';

/** One decision or step in a job's life. */
export const AuditEntry = Type.Object({
  at: Type.String({ description: 'When it happened (the event time).' }),
  event: Type.String({ description: 'The lifecycle event, e.g. io.quantum.job.approved.' }),
  by: Type.String({ description: 'Who decided: a stage, or the requester.' }),
  detail: Type.String({ description: 'What was decided, with the amounts.' }),
  eventId: Type.String(),
});
export type AuditEntry = Static<typeof AuditEntry>;

/** A job run's audit record. */
export const AuditRecord = Type.Object({
  job: Type.Object({ namespace: Type.String(), name: Type.String(), uid: Type.String(), generation: Type.Integer() }),
  entries: Type.Array(AuditEntry),
});
export type AuditRecord = Static<typeof AuditRecord>;

/** Where a job run's audit record is kept (by name first, so `qpipe audit <name>` lists them). */
export function auditKey(job: JobRef): string {
  return `audit/jobs/${keySegment(job.namespace)}/${keySegment(job.name)}/${keySegment(`${job.uid}-${job.generation}`)}.json`;
}

/** The folder of every run of a job of that name. */
export function auditFolder(namespace: string, name: string): string {
  return `audit/jobs/${keySegment(namespace)}/${keySegment(name)}/`;
}

const money = (micros: number) => formatMoney(micros);

/** The audit entry a lifecycle event makes, or undefined for events that decide nothing. */
export function auditEntryOf(event: AnyTypedEvent): AuditEntry | undefined {
  const by = event.source.replace(/^\/qpipe\//, '');
  const entry = (detail: string) => ({ at: event.time ?? '', event: event.type, by, detail, eventId: event.id });
  switch (event.type) {
    case EventType.JobValidated: {
      const { metadata, requestedBy } = event.data;
      return entry(
        `valid: ${metadata.qubits} qubits, ${metadata.gateCount} gates, circuit ${metadata.hash}; requested by ${requestedBy ?? 'unknown'}`,
      );
    }
    case EventType.JobScheduled:
      return entry(
        `scheduled on ${event.data.backend.name} (${event.data.backend.type}), estimated ${money(event.data.estimate.totalMicros)}` +
          (event.data.backend.fallbackUsed
            ? `, falling back from ${event.data.backend.originalBackend ?? 'its choice'}`
            : ''),
      );
    case EventType.JobHeld:
      return entry(`held until ${event.data.deadline}: ${event.data.reason}`);
    case EventType.JobApproved: {
      const { budget, estimate } = event.data;
      return entry(
        budget
          ? `approved: ${money(estimate.totalMicros)} reserved in budget ${budget.namespace}/${budget.name} (${budget.period})`
          : `approved without a budget (estimated ${money(estimate.totalMicros)})`,
      );
    }
    case EventType.JobSubmitted:
      return entry(`submitted to ${event.data.backend.name} as task ${event.data.taskId}`);
    case EventType.JobExecuted:
      return entry(`ran on ${event.data.backend.name}, costing ${money(event.data.actualCostMicros)}`);
    case EventType.JobCompleted:
      return entry(
        `Succeeded on ${event.data.backend}, charged ${money(event.data.actualCostMicros)}` +
          (event.data.budget ? ` to ${event.data.budget.namespace}/${event.data.budget.name}` : ''),
      );
    case EventType.JobFailed:
      return entry(
        `Failed at ${event.data.stage}: ${event.data.reason}` +
          (event.data.actualCostMicros ? `; charged ${money(event.data.actualCostMicros)}` : ''),
      );
    case EventType.JobRejected:
      return entry(`Rejected at ${event.data.stage}: ${event.data.reason}`);
    default:
      return undefined;
  }
}

/** Adds an entry to a run's record (compare-and-swap; a redelivered event is recorded once). */
export function appendAudit(store: ObjectStore, job: JobRef, entry: AuditEntry): Promise<void> {
  return updateDocument(store, auditKey(job), AuditRecord, (current) => {
    const record = current ?? { job: { ...job }, entries: [] };
    if (record.entries.some((e) => e.eventId === entry.eventId)) return { next: undefined, result: undefined };
    const entries = [...record.entries, entry].sort((a, b) => a.at.localeCompare(b.at));
    return { next: { ...record, entries }, result: undefined };
  });
}
