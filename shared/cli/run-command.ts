/**
 * `qpipe run`: every QiskitJob in the files through all stages in one process, on the
 * embedded default; budgets, backends and ConfigMaps in the same files apply.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CloudEvent } from 'cloudevents';
import { buildEvent } from '../../events/envelope.ts';
import { EventType } from '../../events/types.ts';
import type { QpipeConfig } from '../config.ts';
import type { InvalidInputError } from '../errors.ts';
import { backendRefusals } from '../backends/visibility.ts';
import { jobRefOf } from '../job-validation.ts';
import { loadManifests } from '../manifests.ts';
import { applyResources } from '../resources/resource-store.ts';
import { localApplier } from './resources-command.ts';
import type { QiskitBudgetStatus, QiskitJobStatus } from '../resources/schema.ts';
import { ResultDocument } from '../results.ts';
import { parseDocument } from '../storage/documents.ts';
import { createEmbeddedPipeline, createLocalPorts, type EmbeddedPipeline } from '../runtime/embedded.ts';
import { currentRunOwner } from '../runtime/run-owner.ts';
import type { StageDefinition } from '../runtime/stage.ts';
import type { ResultQuality } from '../quality.ts';

const FINAL_EVENTS = new Set<string>([EventType.JobCompleted, EventType.JobFailed, EventType.JobRejected]);

/** One job's outcome, as `--output json` prints it. */
export interface JobOutcome {
  readonly namespace: string;
  readonly name: string;
  readonly phase: string;
  readonly backend: string | null;
  readonly shots: number | null;
  readonly counts: Record<string, number> | null;
  readonly estimatedCost: string | null;
  readonly actualCost: string | null;
  readonly resultLocation: string | null;
  readonly message: string | null;
  /** A device's result against the ideal distribution; null for the built-in simulator's. */
  readonly quality: ResultQuality | null;
}

/** A budget's state after the run. */
export interface BudgetOutcome {
  readonly namespace: string;
  readonly name: string;
  readonly limit: string;
  readonly period: string;
  readonly status: QiskitBudgetStatus | null;
}

/** What a run produced: per-job and per-budget outcomes, alert emails written, and problems that kept documents from running. */
export interface RunReport {
  readonly jobs: JobOutcome[];
  readonly budgets: BudgetOutcome[];
  /** Files of alert emails in the outbox (embedded mail transport). */
  readonly outbox: string[];
  readonly errors: InvalidInputError[];
}

/** Runs the jobs of the given files. `onProgress` hears how many jobs have finished. */
export async function runJobFiles(
  files: readonly string[],
  options: {
    config: QpipeConfig;
    stages: readonly StageDefinition[];
    now?: () => Date;
    /** Jobs finished of all, and what those that wait are waiting for ("a/b waits for budget …"). */
    onProgress?: (finished: number, total: number, waiting: readonly string[]) => void;
    /**
     * Stops the run (Ctrl-C, SIGTERM): what simulates stops, nothing new starts, and every job
     * that held money fails with the signal's reason and releases its reservation.
     */
    signal?: AbortSignal;
  },
): Promise<RunReport> {
  const manifests = await loadManifests(files);
  // A bad budget or backend would let jobs run unguarded: stop before running anything.
  const errors = [...manifests.errors, ...backendRefusals(manifests.backends, options.config)];
  if (errors.length > 0) return { jobs: [], budgets: [], outbox: [], errors };
  const ports = await createLocalPorts(options.config, manifests, options.now, {
    publicCircuitUrls: true,
    // The run's jobs die with this process: a reservation it leaves is reclaimed once it is gone.
    runOwner: currentRunOwner(),
    // One store for every command: what `qpipe apply` (or an earlier run) stored counts too.
    withStoredResources: true,
  });
  // The files' budgets, backends, sessions and ConfigMaps are applied to the store, as
  // `qpipe apply` would: `qpipe get budgets` and later commands see them.
  await applyResources(ports.store, manifests, localApplier('qpipe run'));
  const outboxFolder = join(options.config.storeDir, 'outbox');
  const mailBefore = new Set(await readdir(outboxFolder).catch(() => [] as string[]));
  const finished = new Set<string>();
  /** What each unfinished run waits for, when it waits for something (budget). */
  const waiting = new Map<string, string>();
  let allFinished: () => void = () => undefined;
  const everyJobFinished = new Promise<void>((resolve) => (allFinished = resolve));
  const pipeline = createEmbeddedPipeline({
    stages: options.stages,
    ports,
    observe: (event) => {
      // Counted by run (uid), as two documents may name the same job.
      const run = String(event['jobuid']);
      if (finished.has(run)) return;
      const waitsFor = waitingFor(event);
      if (waitsFor !== undefined) waiting.set(run, waitsFor);
      else waiting.delete(run);
      if (FINAL_EVENTS.has(event.type)) finished.add(run);
      options.onProgress?.(finished.size, manifests.jobs.length, [...waiting.values()]);
      if (finished.size === manifests.jobs.length) allFinished();
    },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const runId = crypto.randomUUID();
  const refs = manifests.jobs.map((document, index) => {
    const metadata = (document.value['metadata'] ?? {}) as Record<string, unknown>;
    const namespace = typeof metadata['namespace'] === 'string' ? metadata['namespace'] : 'default';
    const name = typeof metadata['name'] === 'string' ? metadata['name'] : `${document.file}#${index + 1}`;
    // Each `qpipe run` is a new run of the job, as a new object would be on a cluster: the
    // run token in metadata.uid makes validate derive a new uid.
    const job = {
      ...document.value,
      metadata: { ...metadata, namespace, name, uid: `${runId}-${index}`, generation: 1 },
    };
    const { uid } = jobRefOf(job, { from: 'request' });
    return {
      namespace,
      name,
      uid,
      event: buildEvent(EventType.JobRequested, { job }, { source: '/qpipe/cli', subject: `${namespace}/${name}` }),
    };
  });
  options.onProgress?.(0, refs.length, []);
  await pipeline.publish(refs.map((r) => r.event));
  await untilDoneOrStopped(pipeline, everyJobFinished, options.signal);

  const jobs: JobOutcome[] = [];
  for (const { namespace, name, uid } of refs) {
    const status = await ports.cluster.readJobStatus(namespace, name, uid);
    jobs.push(await outcomeOf(namespace, name, status, pipeline.reports));
  }
  const budgets = await Promise.all(
    manifests.budgets.map(async (b): Promise<BudgetOutcome> => {
      const namespace = b.metadata.namespace ?? 'default';
      const status = await ports.cluster.readBudgetStatus(namespace, b.metadata.name);
      return { namespace, name: b.metadata.name, limit: b.spec.limit, period: b.spec.period, status: status ?? null };
    }),
  );
  // Mail this run wrote, not what earlier runs left in the outbox.
  const outbox = (await readdir(outboxFolder).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.eml') && !mailBefore.has(f))
    .sort()
    .map((f) => join(outboxFolder, f));
  return { jobs, budgets, outbox, errors: manifests.errors };
}

/** What a job's latest event says it waits for, if anything: held for budget, until its deadline. */
function waitingFor(event: CloudEvent<unknown>): string | undefined {
  if (event.type !== EventType.JobHeld) return undefined;
  const data = event.data as { budget?: { namespace: string; name: string }; deadline?: string };
  const until = data.deadline ? ` until ${new Date(data.deadline).toISOString().slice(11, 19)} UTC` : '';
  return `${event.subject ?? 'a job'} waits for budget ${data.budget?.namespace}/${data.budget?.name}${until}`;
}

/**
 * Waits until every job has ended and what their ends set off (settling, releasing, alerts)
 * has run, or, once the run is stopped, for the failures and releases the stop causes; then
 * drops what only waits for its time: reservation expiry checks, whose runs have ended, and
 * held jobs, which hold no money.
 */
async function untilDoneOrStopped(
  pipeline: EmbeddedPipeline,
  everyJobFinished: Promise<void>,
  signal: AbortSignal | undefined,
): Promise<void> {
  const stopped = new Promise<void>((resolve) => {
    if (signal?.aborted) resolve();
    else signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await Promise.race([pipeline.idle(), everyJobFinished, stopped]);
  await pipeline.bus.settled();
  await pipeline.bus.close(0);
}

async function outcomeOf(
  namespace: string,
  name: string,
  status: QiskitJobStatus | undefined,
  reports: readonly { subject: string | undefined; message: string }[],
): Promise<JobOutcome> {
  const location = status?.results?.location ?? null;
  // The embedded store is a folder, so the location is a file path; the JSON document sits beside a CSV one.
  const document = location ? await readResultDocument(location.replace(/\.csv$/, '.json')) : undefined;
  const report = reports.find((r) => r.subject === `${namespace}/${name}`);
  return {
    namespace,
    name,
    phase: status?.phase ?? 'Pending',
    backend: status?.selectedBackend ?? null,
    shots: status?.results?.shots ?? null,
    counts: document?.counts ?? status?.results?.counts ?? null,
    estimatedCost: status?.estimatedCost ?? null,
    actualCost: status?.actualCost ?? null,
    resultLocation: location,
    message: status?.message ?? report?.message ?? null,
    quality: document?.quality ?? null,
  };
}

/** The run's result document, when the run wrote one. */
async function readResultDocument(path: string): Promise<ResultDocument | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  return parseDocument(ResultDocument, text, path);
}
