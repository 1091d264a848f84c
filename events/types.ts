/**
 * The CloudEvent types qpipe emits and consumes (`io.quantum.<noun>.<verb>`), plus the
 * Knative ApiServerSource types accepted at ingress.
 */
export const EventType = {
  JobRequested: 'io.quantum.job.requested',
  JobValidated: 'io.quantum.job.validated',
  JobScheduled: 'io.quantum.job.scheduled',
  JobApproved: 'io.quantum.job.approved',
  JobSubmitted: 'io.quantum.job.submitted',
  JobExecuted: 'io.quantum.job.executed',
  JobCompleted: 'io.quantum.job.completed',
  JobFailed: 'io.quantum.job.failed',
  JobRejected: 'io.quantum.job.rejected',
  JobHeld: 'io.quantum.job.held',
  /** collect-results' own delayed re-check of a task a provider runs. */
  JobPoll: 'io.quantum.job.poll',
  /** A request to cancel a job published as an event (`qpipe cancel`): what a QiskitJob's deletion is on a cluster. */
  JobCancel: 'io.quantum.job.cancel',
  /** enforce-budget's own delayed check, when a reservation would expire, that takes back those of runs that died. */
  BudgetExpiry: 'io.quantum.budget.expiry',
  BudgetThreshold: 'io.quantum.budget.threshold',
  BudgetExceeded: 'io.quantum.budget.exceeded',
  ResourceAdded: 'dev.knative.apiserver.resource.add',
  ResourceUpdated: 'dev.knative.apiserver.resource.update',
  ResourceDeleted: 'dev.knative.apiserver.resource.delete',
  /** Amazon Braket's task status event on EventBridge (source aws.braket). */
  BraketTaskStateChange: 'Braket Task State Change',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** Pipeline stages; each is one function and the `source` of the events it emits. */
export const Stage = {
  Validate: 'validate',
  SelectBackend: 'select-backend',
  EnforceBudget: 'enforce-budget',
  Execute: 'execute',
  CollectResults: 'collect-results',
  Notify: 'notify',
} as const;
export type Stage = (typeof Stage)[keyof typeof Stage];

/** The `source` attribute of events a stage emits. */
export function stageSource(stage: Stage): string {
  return `/qpipe/${stage}`;
}

/**
 * Which event types each stage consumes: the Trigger filters of every deployment, and (as
 * a const) the input type of each stage's handler (StageInput in shared/runtime/stage.ts).
 */
export const SUBSCRIPTIONS = {
  validate: [EventType.JobRequested, EventType.ResourceAdded, EventType.ResourceUpdated],
  'select-backend': [EventType.JobValidated],
  'enforce-budget': [
    EventType.JobScheduled,
    EventType.JobHeld,
    EventType.JobCompleted,
    EventType.JobFailed,
    EventType.JobRejected,
    EventType.ResourceUpdated,
    EventType.ResourceDeleted,
    EventType.JobCancel,
    EventType.BudgetExpiry,
  ],
  execute: [EventType.JobApproved, EventType.ResourceDeleted, EventType.JobCancel],
  'collect-results': [
    EventType.JobValidated,
    EventType.JobScheduled,
    EventType.JobHeld,
    EventType.JobApproved,
    EventType.JobSubmitted,
    EventType.JobExecuted,
    EventType.JobFailed,
    EventType.JobRejected,
    EventType.JobPoll,
    EventType.BraketTaskStateChange,
    // Budget and backend changes, for the audit trail.
    EventType.ResourceAdded,
    EventType.ResourceUpdated,
    EventType.ResourceDeleted,
  ],
  notify: [EventType.BudgetThreshold, EventType.BudgetExceeded],
} as const satisfies Readonly<Record<Stage, readonly EventType[]>>;

/**
 * Which stages emit each internal event type: a stage accepts an internal event only from
 * these (the Trigger's or rule's source filter). Types missing here come from outside the
 * pipeline (job requests, the Kubernetes API server, Amazon Braket).
 */
export const EMITTERS: Readonly<Partial<Record<EventType, readonly Stage[]>>> = {
  [EventType.JobValidated]: [Stage.Validate],
  [EventType.JobScheduled]: [Stage.SelectBackend],
  [EventType.JobApproved]: [Stage.EnforceBudget],
  [EventType.JobHeld]: [Stage.EnforceBudget],
  [EventType.JobSubmitted]: [Stage.Execute],
  [EventType.JobExecuted]: [Stage.Execute, Stage.CollectResults],
  [EventType.JobCompleted]: [Stage.CollectResults],
  [EventType.JobFailed]: [Stage.Execute, Stage.CollectResults, Stage.EnforceBudget],
  [EventType.JobRejected]: [Stage.Validate, Stage.SelectBackend, Stage.EnforceBudget],
  [EventType.JobPoll]: [Stage.CollectResults],
  [EventType.BudgetExpiry]: [Stage.EnforceBudget],
  [EventType.BudgetThreshold]: [Stage.EnforceBudget],
  [EventType.BudgetExceeded]: [Stage.EnforceBudget],
};

/**
 * The sources that may request jobs where the bus itself cannot tell publishers apart by
 * identity (EventBridge): `qpipe submit`, the EKS bridge and the Knative timer's resync.
 */
export const REQUEST_SOURCES = ['/qpipe/submit', '/qpipe/bridge', '/qpipe/timer'] as const;

/** The source of cancellation requests (`qpipe cancel`), where the bus cannot tell publishers apart. */
export const CANCEL_SOURCES = ['/qpipe/cancel'] as const;

/** One Trigger-style filter: exact matches on CloudEvent attributes. */
export type AttributeFilter = {
  readonly type: EventType;
  /** Present for internal events: the emitting stage's source. */
  readonly source?: string;
};

/** The filters routing events to a stage: one per (type, emitter); outside types by type alone. */
export function subscriptionFilters(stage: Stage): AttributeFilter[] {
  return SUBSCRIPTIONS[stage].flatMap((type) => {
    const emitters = EMITTERS[type];
    return emitters ? emitters.map((emitter) => ({ type, source: stageSource(emitter) })) : [{ type }];
  });
}
