/**
 * Catching what an at-most-once source dropped. Knative's ApiServerSource delivers each
 * change once at most: a job created while its adapter was down, or whose event was lost,
 * would wait forever. The timer's periodic resync re-requests every job that should be
 * moving but has not moved for a while; the pipeline is idempotent, so a job that was
 * merely slow only sees duplicates. Pure decisions; the timer does the I/O.
 */
import { generationObserved } from '../resources/kubernetes-object.ts';

/** The namespace label that enables qpipe for the jobs of a namespace (the ApiServerSource's namespaceSelector). */
export const JOBS_NAMESPACE_LABEL = 'qpipe.io/jobs';
/** Its value. */
export const JOBS_NAMESPACE_ENABLED = 'enabled';

// Phases that wait on purpose: a held job is re-checked by its own timers, and a provider
// task by its polls or state-change events. Final phases never move.
const NOT_STALLED = new Set(['AwaitingBudget', 'Submitted', 'Running', 'Succeeded', 'Failed', 'Rejected']);

interface JobObject {
  readonly metadata?: { readonly creationTimestamp?: string; readonly generation?: number };
  readonly status?: {
    readonly phase?: string;
    readonly startTime?: string;
    readonly conditions?: readonly { readonly lastTransitionTime?: string }[];
  };
}

/** When the job last moved: its newest condition, else its start, else its creation. */
function lastMoved(job: JobObject): number {
  const times = [
    ...(job.status?.conditions ?? []).map((c) => c.lastTransitionTime),
    job.status?.startTime,
    job.metadata?.creationTimestamp,
  ]
    .map((t) => (t === undefined ? Number.NaN : Date.parse(t)))
    .filter((t) => !Number.isNaN(t));
  return times.length === 0 ? 0 : Math.max(...times);
}

/**
 * Whether a job should be requested again: its spec generation was never picked up, or it
 * sits in a phase that should pass in seconds, and either way nothing happened for `afterMs`.
 */
export function isStalled(object: Record<string, unknown>, now: number, afterMs: number): boolean {
  const job = object as JobObject;
  const phase = job.status?.phase;
  if (phase !== undefined && NOT_STALLED.has(phase) && generationObserved(object)) return false;
  return now - lastMoved(job) >= (generationObserved(object) ? afterMs : Math.min(afterMs, UNSEEN_AFTER_MS));
}

/**
 * A spec nobody picked up within a minute was dropped, not delayed: validate answers in
 * milliseconds. The usual case is a namespace labelled just before its jobs were created:
 * the adapter is rolled out again to watch it, and sends no add for what existed by then.
 */
export const UNSEEN_AFTER_MS = 60_000;
