/**
 * Completion of tasks that providers run. After `submitted`, collect-results re-checks
 * the task with a delayed `io.quantum.job.poll` (backing off, never blocking); on AWS,
 * Braket's own "Braket Task State Change" events finish Braket tasks, and a slow poll stays
 * as the fallback for an event that never came. A finished task's counts become the run's raw
 * result and an `executed` event, which this stage then turns into the result document like
 * any other run. A task still unfinished at the poll deadline is cancelled, and the job fails
 * with what the provider bills for it.
 */
import type { CloudEvent } from 'cloudevents';
import { buildJobEvent, carriedExtensions, type TypedEvent } from '../../events/envelope.ts';
import type { EventData } from '../../events/schemas.ts';
import { EventType, Stage, stageSource } from '../../events/types.ts';
import type { BackendEntry, TaskState } from '../../shared/backends/backend.ts';
import { type TaskRecord, taskRecordOfRun, taskRecordOfTask } from '../../shared/backends/task-record.ts';
import { InvalidInputError, PermanentError, ProviderTaskFailedError, TransientError } from '../../shared/errors.ts';
import { cancelTask } from '../../shared/backends/cancel-task.ts';
import { runFolder } from '../../shared/jobs.ts';
import { formatMoney } from '../../shared/money.ts';
import { estimateCost } from '../../shared/pricing/pricing.ts';
import { rawResultKey, storeRawResult } from '../../shared/results.ts';
import { JobRejection } from '../../shared/runtime/outcomes.ts';
import type { Ports } from '../../shared/runtime/ports.ts';
import { getJson } from '../../shared/storage/object-store.ts';
import { scheduledEntry } from '../../shared/backends/visibility.ts';

export type ProviderDeps = Pick<Ports, 'config' | 'store' | 'cluster' | 'executors' | 'now' | 'metrics' | 'log'>;
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
  const { poll } = deps.config.providers;
  // Where the provider announces the end, the poll is only the fallback: at the slowest pace.
  const delay = completionIsPushed(submitted, deps) ? poll.maxSeconds : pollDelaySeconds(attempt, poll);
  const due = new Date(deps.now().getTime() + delay * 1000);
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

/** On `submitted`: the first re-check (the fallback, where the provider announces the end itself). */
export function onSubmitted(
  event: TypedEvent<typeof EventType.JobSubmitted>,
  deps: ProviderDeps,
): CloudEvent<unknown>[] {
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
    const why = record.cancellation ? ` because ${record.cancellation.why}` : '';
    throw new ProviderTaskFailedError(taskId, `${state.reason}${why}; charged ${formatMoney(cost)}`, cost);
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
    // Past the deadline the task is cancelled; the job ends when the provider says it is, with what it bills.
    const hours = Math.round(waited / 3600);
    await cancelTask(record, `it was still ${state.status} after ${hours} h (QPIPE_POLL_DEADLINE_SECONDS)`, deps);
    const asked = (await taskRecordOfRun(deps.store, submitted.job))?.cancellation?.requestedAt;
    if (asked === undefined || deps.now().getTime() - Date.parse(asked) > CANCEL_GRACE_SECONDS * 1000) {
      // Not cancellable, or asked an hour ago and still not ended: stop waiting, charging the whole task.
      const cost = estimateCost(entry.pricing, { shots: record.shots, seconds: 0 }).totalMicros;
      throw new ProviderTaskFailedError(
        submitted.taskId,
        `task ${submitted.taskId} is still ${state.status} after ${hours} h; qpipe stopped waiting (QPIPE_POLL_DEADLINE_SECONDS); charged ${formatMoney(cost)}`,
        cost,
      );
    }
  }
  return [pollEvent(submitted, attempt + 1, since, deps, extensions)];
}

/** How long after asking a provider to cancel a task at the deadline qpipe still waits for it to end. */
export const CANCEL_GRACE_SECONDS = 3600;

const FINAL_BRAKET_STATES = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/** Whether Braket wrote the task's results where this deployment tells it to (so the task is qpipe's). */
function writesToOurBucket(event: TypedEvent<typeof EventType.BraketTaskStateChange>, deps: ProviderDeps): boolean {
  const braket = deps.config.providers.braket;
  const region = /^arn:aws[\w-]*:braket:([a-z0-9-]+):/.exec(event.data.quantumTaskArn)?.[1];
  if (!braket || !region || !event.data.outputS3Bucket) return false;
  return event.data.outputS3Bucket === braket.outputBucket.replaceAll('{region}', region);
}

/** On Braket's state-change event: finish the task if qpipe submitted it and it has ended. */
export async function onBraketStateChange(
  event: TypedEvent<typeof EventType.BraketTaskStateChange>,
  deps: ProviderDeps,
): Promise<CloudEvent<unknown>[]> {
  if (!FINAL_BRAKET_STATES.has(event.data.status)) return [];
  const record = await taskRecordOfTask(deps.store, event.data.quantumTaskArn);
  if (!record) {
    // A task that ends within seconds can announce it before execute has written its record:
    // one that wrote to qpipe's bucket is retried (the bus backs off) until the record is there.
    if (writesToOurBucket(event, deps)) {
      throw new TransientError(`no task record yet for ${event.data.quantumTaskArn}; retrying`);
    }
    // Tasks that other tools created on the same account are not qpipe's.
    return [];
  }
  if (await alreadyCollected(record.submitted, deps)) return [];
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
