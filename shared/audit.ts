/**
 * Every job leaves an audit record: who or what asked for it, each decision with its amounts
 * (backend and estimate, reservation, hold, charge), provider task ids and the final phase,
 * one entry per lifecycle event. collect-results writes each entry as it projects the event,
 * as an object of its own, created once (a redelivered event writes nothing new, and no
 * entry waits on another); `qpipe audit` reads them back as one record per run.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { AnyTypedEvent } from '../events/envelope.ts';
import type { JobRef } from '../events/schemas.ts';
import type { HeldObject } from './cluster/cluster.ts';
import { EventType } from '../events/types.ts';
import { formatMoney } from './money.ts';
import { keySegment } from './storage/key-segment.ts';
import type { ObjectStore } from './storage/object-store.ts';

/** The annotation the admission policy (infra/admission) stamps with the user whose request made an object's spec. */
export const REQUESTED_BY_ANNOTATION = 'quantum.io/requested-by';

/**
 * Who asked for an object the cluster holds (a job, a budget's limit): the user the cluster
 * stamped at admission, else the API server. (A published request's requester is its source,
 * which the bus or IAM vouches for, never a name the request claims for itself.)
 */
export function requesterOf(held: Pick<HeldObject, 'annotations'>): string {
  const user = held.annotations?.[REQUESTED_BY_ANNOTATION];
  return user === undefined ? 'the Kubernetes API (requester not stamped)' : `Kubernetes user ${user}`;
}

/** One decision or step in a job's life. */
export const AuditEntry = Type.Object({
  at: Type.String({ description: 'When it happened (the event time).' }),
  event: Type.String({ description: 'The lifecycle event, e.g. io.quantum.job.approved.' }),
  by: Type.String({ description: 'Who decided: a stage, or the requester.' }),
  detail: Type.String({ description: 'What was decided, with the amounts.' }),
  eventId: Type.String(),
});
export type AuditEntry = Static<typeof AuditEntry>;

const AuditedJob = Type.Object({
  namespace: Type.String(),
  name: Type.String(),
  uid: Type.String(),
  generation: Type.Integer(),
});

/** One stored entry: the run it belongs to, and the entry. */
export const StoredAuditEntry = Type.Object({ job: AuditedJob, entry: AuditEntry });
export type StoredAuditEntry = Static<typeof StoredAuditEntry>;

/** A job run's audit record, as `qpipe audit` shows it. */
export const AuditRecord = Type.Object({ job: AuditedJob, entries: Type.Array(AuditEntry) });
export type AuditRecord = Static<typeof AuditRecord>;

/** The folder of every run of a job of that name. */
export function auditFolder(namespace: string, name: string): string {
  return `audit/jobs/${keySegment(namespace)}/${keySegment(name)}/`;
}

/** Where one entry of a run is kept. */
function entryKey(job: JobRef, entry: AuditEntry): string {
  return `${auditFolder(job.namespace, job.name)}${keySegment(`${job.uid}-${job.generation}`)}/${keySegment(entry.eventId)}.json`;
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

/** Records an entry of a run, once (a redelivered event finds it there already). */
export async function appendAudit(store: ObjectStore, job: JobRef, entry: AuditEntry): Promise<void> {
  const { namespace, name, uid, generation } = job;
  const stored: StoredAuditEntry = { job: { namespace, name, uid, generation }, entry };
  await store.putIfAbsent(entryKey(job, entry), JSON.stringify(stored), 'application/json');
}

/** The runs the stored entries tell of, each with its entries in time order, oldest run first. */
export function auditRecords(entries: readonly StoredAuditEntry[]): AuditRecord[] {
  const runs = new Map<string, AuditRecord>();
  for (const { job, entry } of entries) {
    const key = `${job.uid}/${job.generation}`;
    const record = runs.get(key) ?? { job, entries: [] };
    record.entries.push(entry);
    runs.set(key, record);
  }
  const records = [...runs.values()];
  for (const record of records) record.entries.sort((a, b) => a.at.localeCompare(b.at));
  return records.sort((a, b) => (a.entries[0]?.at ?? '').localeCompare(b.entries[0]?.at ?? ''));
}
