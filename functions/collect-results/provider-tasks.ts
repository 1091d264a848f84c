/**
 * Completion of tasks that providers run. After `submitted`, collect-results re-checks
 * the task with a delayed `io.quantum.job.poll` (backing off, never blocking); on AWS,
 * Braket's own "Braket Task State Change" events finish Braket tasks instead. A finished
 * task's counts become the run's raw result and an `executed` event, which this stage then
 * turns into the result document like any other run.
 */
import type { CloudEvent } from 'cloudevents';
import { buildJobEvent, carriedExtensions, type TypedEvent } from '../../events/envelope.ts';
import type { EventData } from '../../events/schemas.ts';
import { EventType, Stage, stageSource } from '../../events/types.ts';
import type { BackendEntry, TaskState } from '../../shared/backends/backend.ts';
import { type TaskRecord, taskRecordOfRun, taskRecordOfTask } from '../../shared/backends/task-record.ts';
import { InvalidInputError, PermanentError, ProviderTaskFailedError } from '../../shared/errors.ts';
import { runFolder } from '../../shared/jobs.ts';
import { formatMoney } from '../../shared/money.ts';
import { estimateCost } from '../../shared/pricing/pricing.ts';
import { rawResultKey, storeRawResult } from '../../shared/results.ts';
import { JobRejection } from '../../shared/runtime/outcomes.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { getJson } from '../../shared/storage/object-store.ts';
import { scheduledEntry } from '../../shared/backends/visibility.ts';

export type ProviderDeps = Pick<Ports, 'config' | 'store' | 'cluster' | 'executors' | 'now' | 'metrics'>;
type Submitted = EventData<typeof EventType.JobSubmitted>;
type Extensions = ReturnType<typeof carriedExtensions>;

/** Seconds before re-check number `attempt`: doubling from the first delay up to the cap. */
export function pollDelaySeconds(attempt: number, poll: ProviderDeps['config']['providers']['poll']): number {
  return Math.min(poll.firstSeconds * 2 ** Math.max(0, attempt - 1), poll.maxSeconds);
}

function pollEvent(
  submitted: Submitted,
  attempt: number,
  since: string,
  deps: ProviderDeps,
  extensions: Extensions,
): CloudEvent<unknown> {
  const due = new Date(deps.now().getTime() + pollDelaySeconds(attempt, deps.config.providers.poll) * 1000);
  return buildJobEvent(EventType.JobPoll, { ...submitted, attempt, since }, submitted.job, {
    source: stageSource(Stage.CollectResults),
    ...extensions,
    notbefore: due.toISOString(),
    idParts: [String(attempt)],
  });
}

/** Whether this deployment learns of the task's end from provider events rather than by polling. */
function completionIsPushed(submitted: Submitted, deps: ProviderDeps): boolean {
  return submitted.backend.type === 'aws_braket' && deps.config.providers.braket?.stateChangeEvents === true;
}

/** On `submitted`: the first re-check, unless the provider will announce the end itself. */
export function onSubmitted(
  event: TypedEvent<typeof EventType.JobSubmitted>,
  deps: ProviderDeps,
): CloudEvent<unknown>[] {
  if (completionIsPushed(event.data, deps)) return [];
  return [pollEvent(event.data, 1, event.time ?? deps.now().toISOString(), deps, carriedExtensions(event))];
}

async function alreadyCollected(submitted: Submitted, deps: ProviderDeps): Promise<boolean> {
  return (await getJson(deps.store, rawResultKey(runFolder(submitted.job)))) !== undefined;
}

async function taskState(record: TaskRecord, entry: BackendEntry, deps: ProviderDeps): Promise<TaskState> {
  const executor = deps.executors[entry.type];
  if (!executor?.collect) throw new InvalidInputError('backend', `${entry.type} is not configured in this deployment`);
  return executor.collect({
    taskId: record.submitted.taskId,
    backend: entry,
    layout: record.layout,
    shots: record.shots,
    ...(record.cancellation ? { cancelledWhile: record.cancellation.stateWhenAsked } : {}),
  });
}

/** Stores a finished task's result and announces it as executed; a failed task fails the job. */
async function finish(
  record: TaskRecord,
  entry: BackendEntry,
  state: Exclude<TaskState, { kind: 'pending' }>,
  deps: ProviderDeps,
  extensions: Extensions,
): Promise<CloudEvent<unknown>[]> {
  const { job, spec, circuit, backend, budget, taskId } = record.submitted;
  if (state.kind === 'failed') throw new ProviderTaskFailedError(taskId, state.reason);
  if (state.kind === 'cancelled') {
    // What the provider bills for a cancelled task is charged; nothing when it never ran.
    const billed = state.billedShots > 0 || state.billedSeconds > 0;
    const cost = billed
      ? estimateCost(entry.pricing, { shots: state.billedShots, seconds: state.billedSeconds }).totalMicros
      : 0;
    throw new ProviderTaskFailedError(taskId, `${state.reason}; charged ${formatMoney(cost)}`, cost);
  }
  const { counts, shots, durationMs, billedSeconds } = state;
  const resultRef = rawResultKey(runFolder(job));
  const stored = await storeRawResult(
    deps.store,
    resultRef,
    { counts, shots, durationMs, billedSeconds, taskId },
    entry.pricing,
  );
  return [
    buildJobEvent(
      EventType.JobExecuted,
      {
        job,
        spec,
        circuit,
        backend,
        resultRef,
        actualCostMicros: stored.actualCostMicros,
        ...(budget ? { budget } : {}),
      },
      job,
      { source: stageSource(Stage.CollectResults), ...extensions },
    ),
  ];
}

/** On a re-check: finish the task, or schedule the next re-check, or give up after the deadline. */
export async function onPoll(
  event: TypedEvent<typeof EventType.JobPoll>,
  deps: ProviderDeps,
): Promise<CloudEvent<unknown>[]> {
  const { attempt, since, ...submitted } = event.data;
  if (await alreadyCollected(submitted, deps)) return [];
  const record = await taskRecordOfRun(deps.store, submitted.job);
  if (!record) throw new InvalidInputError('taskId', `no task record for ${submitted.taskId}`);
  const entry = await scheduledEntry(record.submitted.job.namespace, record.submitted.backend.name, deps);
  const state = await taskState(record, entry, deps);
  const extensions = carriedExtensions(event);
  if (state.kind !== 'pending') return finish(record, entry, state, deps, extensions);
  const waited = (deps.now().getTime() - Date.parse(since)) / 1000;
  if (waited > deps.config.providers.poll.deadlineSeconds) {
    throw new InvalidInputError(
      'backend',
      `task ${submitted.taskId} is still ${state.status} after ${Math.round(waited / 3600)} h; qpipe stopped waiting (QPIPE_POLL_DEADLINE_SECONDS)`,
    );
  }
  return [pollEvent(submitted, attempt + 1, since, deps, extensions)];
}

const FINAL_BRAKET_STATES = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/** On Braket's state-change event: finish the task if qpipe submitted it and it has ended. */
export async function onBraketStateChange(
  event: TypedEvent<typeof EventType.BraketTaskStateChange>,
  deps: ProviderDeps,
): Promise<CloudEvent<unknown>[]> {
  if (!FINAL_BRAKET_STATES.has(event.data.status)) return [];
  // Tasks that other tools created on the same account are not qpipe's.
  const record = await taskRecordOfTask(deps.store, event.data.quantumTaskArn);
  if (!record || (await alreadyCollected(record.submitted, deps))) return [];
  const { job, budget } = record.submitted;
  try {
    const entry = await scheduledEntry(record.submitted.job.namespace, record.submitted.backend.name, deps);
    const state = await taskState(record, entry, deps);
    if (state.kind === 'pending') return [];
    return await finish(record, entry, state, deps, {});
  } catch (error) {
    // Braket's event names no job: say which one (and its budget), so the failure reaches it.
    if (error instanceof PermanentError) throw new JobRejection(job, error, [], budget);
    throw error;
  }
}
