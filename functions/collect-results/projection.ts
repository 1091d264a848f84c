/**
 * Projects lifecycle events onto QiskitJob status. Phases only move forward and a stale
 * event (older generation, or a phase the job has passed) changes nothing.
 */
import type { AnyTypedEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import { formatMoney } from '../../shared/money.ts';
import {
  type Condition,
  JOB_PHASES,
  type JobPhase,
  type QiskitJobStatus,
  TERMINAL_PHASES,
} from '../../shared/resources/schema.ts';

const rank = (phase: JobPhase | undefined) => (phase === undefined ? -1 : JOB_PHASES.indexOf(phase));

function setCondition(conditions: readonly Condition[], condition: Condition): Condition[] {
  const existing = conditions.find((c) => c.type === condition.type);
  if (existing && existing.status === condition.status && existing.reason === condition.reason) return [...conditions];
  return [...conditions.filter((c) => c.type !== condition.type), condition];
}

interface Transition {
  readonly phase: JobPhase;
  readonly conditions: readonly Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>[];
  readonly fields: Partial<QiskitJobStatus>;
}

function transition(event: AnyTypedEvent): Transition | undefined {
  switch (event.type) {
    case EventType.JobValidated:
      return {
        phase: 'Validated',
        conditions: [
          {
            type: 'Validated',
            status: 'True',
            reason: 'CircuitValid',
            message: `${event.data.metadata.qubits} qubits, ${event.data.metadata.gateCount} gates`,
          },
        ],
        fields: { circuitMetadata: event.data.metadata, startTime: event.data.startTime, message: 'circuit validated' },
      };
    case EventType.JobScheduled:
      return {
        phase: 'Scheduled',
        conditions: [
          {
            type: 'BackendSelected',
            status: 'True',
            reason: event.data.backend.fallbackUsed ? 'FallbackToSimulator' : 'Selected',
            message: `selected ${event.data.backend.name}`,
          },
        ],
        fields: {
          selectedBackend: event.data.backend.name,
          candidates: event.data.candidates,
          estimatedCost: formatMoney(event.data.estimate.totalMicros),
          ...(event.data.backend.fallbackUsed ? { fallbackUsed: true } : {}),
          ...(event.data.backend.originalBackend === undefined
            ? {}
            : { originalBackend: event.data.backend.originalBackend }),
          message: `scheduled on ${event.data.backend.name}`,
        },
      };
    case EventType.JobHeld:
      return {
        phase: 'AwaitingBudget',
        conditions: [{ type: 'BudgetApproved', status: 'False', reason: 'AwaitingBudget', message: event.data.reason }],
        fields: {
          estimatedCost: formatMoney(event.data.estimate.totalMicros),
          message: `awaiting budget until ${event.data.deadline}: ${event.data.reason}`,
        },
      };
    case EventType.JobApproved:
      return {
        phase: 'Approved',
        conditions: [
          {
            type: 'BudgetApproved',
            status: 'True',
            reason: event.data.budget ? 'Reserved' : 'NoBudget',
            message: event.data.budget
              ? `reserved ${formatMoney(event.data.estimate.totalMicros)} on budget ${event.data.budget.name}`
              : `no QiskitBudget in namespace ${event.data.job.namespace}: the job runs unbudgeted`,
          },
        ],
        fields: {
          message: event.data.budget
            ? 'budget approved'
            : `approved unbudgeted: no QiskitBudget in namespace ${event.data.job.namespace}`,
        },
      };
    case EventType.JobSubmitted:
      return {
        phase: 'Submitted',
        conditions: [{ type: 'Submitted', status: 'True', reason: 'Submitted', message: `task ${event.data.taskId}` }],
        fields: { providerTaskId: event.data.taskId, message: `submitted to ${event.data.backend.name}` },
      };
    case EventType.JobExecuted:
      return {
        phase: 'Running',
        conditions: [
          { type: 'Executed', status: 'True', reason: 'Executed', message: `ran on ${event.data.backend.name}` },
        ],
        fields: { actualCost: formatMoney(event.data.actualCostMicros), message: 'executed; storing results' },
      };
    case EventType.JobCompleted:
      return {
        phase: 'Succeeded',
        conditions: [
          { type: 'ResultsStored', status: 'True', reason: 'Stored', message: event.data.result.location },
          { type: 'Completed', status: 'True', reason: 'Succeeded', message: 'job succeeded' },
        ],
        fields: {
          actualCost: formatMoney(event.data.actualCostMicros),
          results: {
            location: event.data.result.location,
            shots: event.data.result.shots,
            counts: event.data.result.counts,
            ...(event.data.result.hellingerFidelity === undefined
              ? {}
              : { hellingerFidelity: event.data.result.hellingerFidelity }),
            ...(event.data.result.totalVariationDistance === undefined
              ? {}
              : { totalVariationDistance: event.data.result.totalVariationDistance }),
          },
          message: event.data.result.truncated
            ? 'succeeded; status shows the most frequent outcomes, the result document has all'
            : 'succeeded',
        },
      };
    case EventType.JobFailed:
      return {
        phase: 'Failed',
        conditions: [{ type: 'Completed', status: 'False', reason: 'Failed', message: event.data.reason }],
        fields: { message: `${event.data.stage}: ${event.data.reason}` },
      };
    case EventType.JobRejected:
      return {
        phase: 'Rejected',
        conditions: [{ type: 'Completed', status: 'False', reason: 'Rejected', message: event.data.reason }],
        fields: { message: `${event.data.stage}: ${event.data.reason}` },
      };
    default:
      return undefined;
  }
}

/**
 * A late event (buses do not promise order) never moves the phase back, but what it alone
 * knows, such as the selected backend when `scheduled` arrives after `approved`, still fills
 * the fields and conditions the status lacks. Undefined when it adds nothing.
 */
function fillGaps(
  base: QiskitJobStatus,
  next: Transition,
  at: { time: string; generation: number },
): QiskitJobStatus | undefined {
  const missing = Object.entries(next.fields).filter(
    ([key]) => key !== 'message' && base[key as keyof QiskitJobStatus] === undefined,
  );
  const existing = base.conditions ?? [];
  const newConditions = next.conditions
    .filter((c) => !existing.some((e) => e.type === c.type))
    .map((c) => ({ ...c, lastTransitionTime: at.time, observedGeneration: at.generation }));
  if (missing.length === 0 && newConditions.length === 0) return undefined;
  return { ...base, ...Object.fromEntries(missing), conditions: [...existing, ...newConditions] };
}

/**
 * The status after `event`, or undefined when the event must not change it (stale, or
 * about a phase the job has passed).
 */
export function projectStatus(
  current: QiskitJobStatus | undefined,
  event: AnyTypedEvent,
  now: Date,
): QiskitJobStatus | undefined {
  const next = transition(event);
  const generation = event.extensions.jobgeneration;
  if (!next || generation === undefined) return undefined;
  const observed = current?.observedGeneration;
  if (observed !== undefined && generation < observed) return undefined;
  const base: QiskitJobStatus = observed !== undefined && generation > observed ? {} : (current ?? {});
  const time = now.toISOString();
  const behind =
    (base.phase !== undefined && TERMINAL_PHASES.includes(base.phase)) || rank(next.phase) <= rank(base.phase);
  if (behind) return fillGaps(base, next, { time, generation });
  let conditions = [...(base.conditions ?? [])];
  for (const c of next.conditions) {
    conditions = setCondition(conditions, { ...c, lastTransitionTime: time, observedGeneration: generation });
  }
  return {
    ...base,
    ...next.fields,
    phase: next.phase,
    observedGeneration: generation,
    conditions,
    ...(TERMINAL_PHASES.includes(next.phase) ? { completionTime: time } : {}),
  };
}
