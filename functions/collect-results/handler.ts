/**
 * collect-results: the single writer of QiskitJob status. It projects every lifecycle
 * event onto the job's status and, when a run has executed, writes the result document
 * (JSON, and CSV when asked) and emits `io.quantum.job.completed` pointing at it. It keeps
 * the audit trail: each job's decisions, and each budget and backend change.
 */
import type { CloudEvent } from 'cloudevents';
import { buildJobEvent, carriedExtensions, parseEvent, type TypedEvent } from '../../events/envelope.ts';
import { EventType, Stage, stageSource } from '../../events/types.ts';
import { appendAudit, auditEntryOf } from '../../shared/audit.ts';
import { availableMemory } from '../../shared/config.ts';
import { InvalidInputError, PermanentError } from '../../shared/errors.ts';
import { loadCircuitSource, resultKey } from '../../shared/jobs.ts';
import { compileQasmCached } from '../../shared/qasm/compile-cache.ts';
import { type ResultQuality, resultQuality } from '../../shared/quality.ts';
import { formatMoney } from '../../shared/money.ts';
import { countsCsv, readRawResult, type ResultDocument, topCounts } from '../../shared/results.ts';
import { defineStage, type StageInput } from '../../shared/runtime/stage.ts';
import { recordJobTransition } from '../../shared/observability/job-metrics.ts';
import type { QiskitJobStatus } from '../../shared/resources/schema.ts';
import { projectStatus } from './projection.ts';
import { recordResourceEvent } from './resource-changes.ts';
import { onBraketStateChange, onPoll, onSubmitted, type ProviderDeps } from './provider-tasks.ts';

type Deps = ProviderDeps;

/** Outcomes kept in status and in the completed event; the document has them all. */
const STATUS_COUNTS_LIMIT = 64;

/** The lifecycle events projected into a job's status: the subscriptions but task re-checks, and its own completion. */
type Projected =
  | Exclude<
      StageInput<typeof Stage.CollectResults>,
      TypedEvent<
        | typeof EventType.JobPoll
        | typeof EventType.BraketTaskStateChange
        | typeof EventType.ResourceAdded
        | typeof EventType.ResourceUpdated
        | typeof EventType.ResourceDeleted
      >
    >
  | TypedEvent<typeof EventType.JobCompleted>;

async function project(event: Projected, deps: Deps): Promise<void> {
  const { job } = event.data;
  let before: QiskitJobStatus | undefined;
  let after: QiskitJobStatus | undefined;
  await deps.cluster.updateJobStatus(job, (current) => {
    // Kept from the last call: an adapter may call again after a conflict.
    before = current;
    after = projectStatus(current, event, deps.now());
    return after;
  });
  const entry = auditEntryOf(event);
  if (entry) await appendAudit(deps.store, job, entry);
  const reason = 'stage' in event.data ? event.data.stage : undefined;
  const actualCostMicros = 'actualCostMicros' in event.data ? event.data.actualCostMicros : undefined;
  recordJobTransition(deps.metrics, job.namespace, before, after, {
    ...(reason === undefined ? {} : { reason }),
    ...(actualCostMicros === undefined ? {} : { actualCostMicros }),
  });
}

/** Largest circuit whose ideal distribution is worked out for a device's result: seconds at most. */
const IDEAL_MAX_QUBITS = 24;

/**
 * The ideal-distribution check runs in this stage's own process, so it is bounded by this
 * process's memory (a quarter of it for the state: complex doubles, 16 bytes an amplitude),
 * never by the simulator capacity every stage is told (execute's, in a bigger pod).
 */
export function idealMaxQubits(ownMemoryBytes: number): number {
  return Math.max(0, Math.min(IDEAL_MAX_QUBITS, Math.floor(Math.log2(ownMemoryBytes / 4 / 16))));
}

/**
 * A device result measured against the circuit's exact distribution, when the simulator can
 * hold the circuit; undefined when it cannot (too large, too many measurement branches).
 */
async function againstIdeal(
  event: TypedEvent<typeof EventType.JobExecuted>,
  counts: Record<string, number>,
  deps: Deps,
): Promise<ResultQuality | undefined> {
  try {
    const circuit = compileQasmCached(await loadCircuitSource(event.data.circuit, deps.store), {
      limits: deps.config.circuitLimits,
    }).circuit;
    const ownMemory = availableMemory();
    if (circuit.numQubits > idealMaxQubits(ownMemory)) return undefined;
    const { exactProbabilities } = await import('../../shared/simulator/run.ts');
    const maxMemoryBytes = Math.min(deps.config.simulator.maxMemoryBytes, Math.floor(ownMemory / 4));
    const ideal = await exactProbabilities(circuit, { ...deps.config.simulator, maxMemoryBytes, threads: 1 });
    return resultQuality(counts, ideal);
  } catch (error) {
    if (error instanceof PermanentError) return undefined;
    throw error;
  }
}

async function storeResult(event: TypedEvent<typeof EventType.JobExecuted>, deps: Deps): Promise<CloudEvent<unknown>> {
  const { job, spec, backend, resultRef, budget } = event.data;
  const raw = await readRawResult(deps.store, resultRef);
  if (!raw) throw new InvalidInputError('resultRef', `raw result ${resultRef} is missing from the store`);
  const quality = backend.type === 'local_simulator' ? undefined : await againstIdeal(event, raw.counts, deps);
  const document: ResultDocument = {
    job,
    backend: backend.name,
    ...(raw.taskId === undefined ? {} : { taskId: raw.taskId }),
    shots: raw.shots,
    counts: raw.counts,
    timing: { durationMs: raw.durationMs, completedAt: deps.now().toISOString() },
    actualCost: formatMoney(raw.actualCostMicros),
    ...(raw.note === undefined ? {} : { note: raw.note }),
    ...(quality === undefined ? {} : { quality }),
  };
  const key = resultKey(event.data.job, event.data.spec);
  await deps.store.put(`${key}.json`, JSON.stringify(document, null, 2), 'application/json');
  if (spec.output?.format === 'csv') await deps.store.put(`${key}.csv`, countsCsv(raw.counts), 'text/csv');
  const location = deps.store.locate(`${key}.${spec.output?.format === 'csv' ? 'csv' : 'json'}`);
  const { counts, truncated } = topCounts(raw.counts, STATUS_COUNTS_LIMIT);
  return buildJobEvent(
    EventType.JobCompleted,
    {
      job,
      backend: backend.name,
      result: { location, shots: raw.shots, counts, truncated, ...quality },
      actualCostMicros: raw.actualCostMicros,
      ...(budget ? { budget } : {}),
    },
    job,
    { source: stageSource(Stage.CollectResults), ...carriedExtensions(event), resultref: `${key}.json` },
  );
}

/** Handles one lifecycle event, or a provider task's re-check or state change. */
export async function collectResults(
  event: StageInput<typeof Stage.CollectResults>,
  deps: Deps,
): Promise<CloudEvent<unknown>[]> {
  if (event.type === EventType.JobPoll) return onPoll(event, deps);
  if (event.type === EventType.BraketTaskStateChange) return onBraketStateChange(event, deps);
  if (
    event.type === EventType.ResourceAdded ||
    event.type === EventType.ResourceUpdated ||
    event.type === EventType.ResourceDeleted
  ) {
    await recordResourceEvent(event, deps);
    return [];
  }
  await project(event, deps);
  if (event.type === EventType.JobSubmitted) return onSubmitted(event, deps);
  if (event.type !== EventType.JobExecuted) return [];
  const completed = await storeResult(event, deps);
  // This stage writes status, so it projects its own completion rather than waiting for it to come back.
  const own = parseEvent(completed);
  if (own.type === EventType.JobCompleted) await project(own, deps);
  return [completed];
}

/** The collect-results stage, for any runtime to deploy. */
export const stage = defineStage(Stage.CollectResults, collectResults);
