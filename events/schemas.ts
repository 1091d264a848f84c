/**
 * The data schema of every event type. Stages parse events against these at the edge, so
 * handler logic only ever sees typed data.
 */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { BackendTypeSchema, Candidate, CircuitMetadata, money, QiskitJobSpec } from '../shared/resources/schema.ts';
import { EventType } from './types.ts';

/** Identifies one run of a job: uid and generation make the idempotency key. */
export const JobRef = Type.Object({
  namespace: Type.String(),
  name: Type.String(),
  uid: Type.String({ minLength: 1 }),
  generation: Type.Integer({ minimum: 0 }),
});
export type JobRef = Static<typeof JobRef>;

/** Where the circuit is: inline when small, else a key in the object store (claim check). */
export const CircuitRef = Type.Object({
  format: Type.Union([Type.Literal('qasm2'), Type.Literal('qasm3')]),
  hash: Type.String(),
  bytes: Type.Integer({ minimum: 0 }),
  code: Type.Optional(Type.String({ description: 'The OpenQASM source, when at most 64 KiB.' })),
  ref: Type.Optional(Type.String({ description: 'Object-store key of the source, when larger.' })),
});
export type CircuitRef = Static<typeof CircuitRef>;

/** What every job event after validation carries: the job, its spec and its circuit. */
const jobContext = {
  job: JobRef,
  spec: QiskitJobSpec,
  circuit: CircuitRef,
};

/** The backend a job was scheduled on. */
export const ScheduledBackend = Type.Object({
  name: Type.String(),
  type: BackendTypeSchema,
  deviceId: Type.Optional(Type.String()),
  fallbackUsed: Type.Boolean(),
  originalBackend: Type.Optional(Type.String()),
});
export type ScheduledBackend = Static<typeof ScheduledBackend>;

/** A cost with its parts, in micro-dollars. */
export const CostEstimate = Type.Object({
  totalMicros: Type.Integer({ minimum: 0 }),
  breakdown: Type.Array(Type.Object({ item: Type.String(), micros: Type.Integer({ minimum: 0 }) })),
});
export type CostEstimate = Static<typeof CostEstimate>;

const resultSummary = Type.Object({
  location: Type.String({ description: 'Where the result document is stored.' }),
  shots: Type.Integer(),
  counts: Type.Record(Type.String(), Type.Integer(), { description: 'The most frequent outcomes (at most 64).' }),
  truncated: Type.Boolean({ description: 'Whether counts holds only the most frequent outcomes.' }),
  hellingerFidelity: Type.Optional(Type.Number({ description: "A device result's Hellinger fidelity to the ideal." })),
  totalVariationDistance: Type.Optional(
    Type.Number({ description: "A device result's total variation distance from the ideal." }),
  ),
});

const budgetRef = Type.Object({
  namespace: Type.String(),
  name: Type.String(),
  period: Type.String({ description: 'Period key, e.g. 2026-11 for monthly.' }),
});
/** A budget and the period a charge belongs to. */
export type BudgetRef = Static<typeof budgetRef>;

/** A task handed to a provider, and what its completion needs (the budget to settle). */
const submittedData = Type.Object({
  ...jobContext,
  backend: ScheduledBackend,
  taskId: Type.String({ description: 'The provider task id (Braket task ARN, IBM job id).' }),
  budget: Type.Optional(budgetRef),
});

/** Data schema of each event type. */
export const EVENT_DATA = {
  // The manifest is checked by the validate stage, so a bad one becomes a rejected job, not a lost event.
  [EventType.JobRequested]: Type.Object({ job: Type.Record(Type.String(), Type.Unknown()) }),
  [EventType.ResourceAdded]: Type.Record(Type.String(), Type.Unknown()),
  [EventType.ResourceUpdated]: Type.Record(Type.String(), Type.Unknown()),
  [EventType.ResourceDeleted]: Type.Record(Type.String(), Type.Unknown()),
  [EventType.JobValidated]: Type.Object({
    ...jobContext,
    metadata: CircuitMetadata,
    startTime: Type.String(),
    requestedBy: Type.Optional(
      Type.String({ description: 'Who asked: the Kubernetes user stamped at admission, or the publishing source.' }),
    ),
  }),
  [EventType.JobScheduled]: Type.Object({
    ...jobContext,
    backend: ScheduledBackend,
    candidates: Type.Array(Candidate),
    estimate: CostEstimate,
  }),
  [EventType.JobHeld]: Type.Object({
    ...jobContext,
    backend: ScheduledBackend,
    estimate: CostEstimate,
    budget: budgetRef,
    reason: Type.String({ description: 'Why the job waits, with the amounts.' }),
    heldSince: Type.String({ description: 'When the job started waiting.' }),
    deadline: Type.String({ description: 'When the job is rejected if budget has not freed up (gracePeriod).' }),
  }),
  [EventType.JobApproved]: Type.Object({
    ...jobContext,
    backend: ScheduledBackend,
    estimate: CostEstimate,
    budget: Type.Optional(budgetRef),
  }),
  [EventType.JobSubmitted]: submittedData,
  [EventType.JobPoll]: Type.Object({
    ...submittedData.properties,
    attempt: Type.Integer({ minimum: 1, description: 'Re-checks so far, including this one.' }),
    since: Type.String({ description: 'When the task was submitted; polling gives up after the deadline.' }),
  }),
  [EventType.JobCancel]: Type.Object({
    job: Type.Object({ namespace: Type.String({ minLength: 1 }), name: Type.String({ minLength: 1 }) }),
    reason: Type.String({ description: 'Why it is cancelled, for the job status and audit record.' }),
  }),
  [EventType.BraketTaskStateChange]: Type.Object(
    {
      quantumTaskArn: Type.String(),
      status: Type.String({ description: 'CREATED, QUEUED, RUNNING, COMPLETED, FAILED, CANCELLING or CANCELLED.' }),
      deviceArn: Type.Optional(Type.String()),
      outputS3Bucket: Type.Optional(Type.String()),
      outputS3Directory: Type.Optional(Type.String()),
      shots: Type.Optional(Type.String()),
      createdAt: Type.Optional(Type.String()),
      endedAt: Type.Optional(Type.String()),
      eventName: Type.Optional(Type.String()),
    },
    { description: "Braket's EventBridge event detail (other fields kept as sent)." },
  ),
  [EventType.JobExecuted]: Type.Object({
    ...jobContext,
    backend: ScheduledBackend,
    resultRef: Type.String({ description: 'Object-store key of the raw result.' }),
    actualCostMicros: Type.Integer({ minimum: 0 }),
    budget: Type.Optional(budgetRef),
  }),
  [EventType.JobCompleted]: Type.Object({
    job: JobRef,
    backend: Type.String(),
    result: resultSummary,
    actualCostMicros: Type.Integer({ minimum: 0 }),
    budget: Type.Optional(budgetRef),
  }),
  [EventType.JobFailed]: Type.Object({
    job: JobRef,
    stage: Type.String(),
    reason: Type.String(),
    actualCostMicros: Type.Optional(Type.Integer({ minimum: 0 })),
    budget: Type.Optional(budgetRef),
  }),
  [EventType.JobRejected]: Type.Object({
    job: JobRef,
    stage: Type.String(),
    reason: Type.String(),
    problems: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
    budget: Type.Optional(budgetRef),
  }),
  [EventType.BudgetExpiry]: Type.Object({
    budget: budgetRef,
    job: JobRef,
    expiresAt: Type.String({ description: "When the job's reservation expires unless its run has ended." }),
  }),
  [EventType.BudgetThreshold]: Type.Object({
    budget: budgetRef,
    threshold: Type.Integer({
      description: 'Percent of the limit crossed (the highest, when one charge crossed several).',
    }),
    crossed: Type.Optional(
      Type.Array(Type.Integer(), {
        description: 'Every threshold the same charge crossed, lowest first (one alert for all of them).',
      }),
    ),
    spent: money('Spent this period.'),
    limit: money('The limit.'),
    notificationEmail: Type.Optional(Type.String()),
    topJobs: Type.Array(Type.Object({ job: Type.String(), cost: Type.String() })),
  }),
  [EventType.BudgetExceeded]: Type.Object({
    budget: budgetRef,
    job: JobRef,
    estimate: money('What the job would cost.'),
    spent: money('Spent this period.'),
    reserved: money('Reserved by other jobs.'),
    limit: money('The limit.'),
    blocked: Type.Boolean({ description: 'Whether the job was held or rejected.' }),
    notificationEmail: Type.Optional(Type.String()),
  }),
} as const satisfies Record<EventType, TSchema>;

/** The typed data of an event type. */
export type EventData<T extends EventType> = Static<(typeof EVENT_DATA)[T]>;
