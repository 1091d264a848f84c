/**
 * Circuit checks off the thread that answers requests: analyzeQasm runs in a worker thread,
 * one circuit at a time, with a deadline and cancellation (the worker is terminated and a new
 * one started for the next circuit), so health checks answer and SIGTERM is heard whatever is
 * being checked. Where no worker code is present, the check runs on the calling thread.
 */
import { Worker } from 'node:worker_threads';
import { formatDuration } from '../duration.ts';
import { InvalidInputError } from '../errors.ts';
import { findWorkerEntry, type WorkerEntry } from '../worker-entry.ts';
import { requestWorker } from '../worker-request.ts';
import type { AnalysisReply } from './analysis-worker.ts';
import type { CircuitMetadata } from '../resources/schema.ts';
import { analyzeQasm, type CompileOptions } from './index.ts';

/** A circuit the worker found wrong: where, what, and the limit it broke, if any. */
export class CircuitCheckError extends InvalidInputError {
  constructor(
    where: string,
    text: string,
    readonly limit: string | undefined,
  ) {
    super(where, text);
  }
}

/** How long one circuit's check may take before it is refused (the limits keep real ones far below). */
export const CHECK_DEADLINE_MS = 30_000;

let entry: WorkerEntry | undefined | null = null;
let worker: Worker | undefined;
let nextId = 0;
/** Checks run one after another on the one worker: a deadline then concerns only its own circuit. */
let queue: Promise<unknown> = Promise.resolve();

function workerFor(found: WorkerEntry): Worker {
  if (!worker) {
    worker = new Worker(found.script, { eval: found.eval, execArgv: [] });
    // An idle checker does not keep the process alive.
    worker.unref();
  }
  return worker;
}

function stop(): void {
  void worker?.terminate();
  worker = undefined;
}

/**
 * The metadata of a circuit, checked on a worker thread: refused when the check passes its
 * deadline, stopped when `signal` aborts.
 */
export function analyzeOffThread(
  source: string,
  options: CompileOptions,
  control: { readonly deadlineMs?: number; readonly signal?: AbortSignal } = {},
): Promise<CircuitMetadata> {
  if (entry === null) entry = findWorkerEntry(import.meta.url, 'analysis-worker', 'circuit-worker.mjs');
  const found = entry;
  if (!found) return Promise.resolve(analyzeQasm(source, options));
  const run = queue.then(() => check(found, source, options, control));
  queue = run.catch(() => undefined);
  return run;
}

async function check(
  found: WorkerEntry,
  source: string,
  options: CompileOptions,
  control: { readonly deadlineMs?: number; readonly signal?: AbortSignal },
): Promise<CircuitMetadata> {
  const deadlineMs = control.deadlineMs ?? CHECK_DEADLINE_MS;
  const request = { id: nextId++, source, options };
  const reply = await requestWorker<AnalysisReply>(workerFor(found), request, {
    signal: control.signal,
    deadline: {
      ms: deadlineMs,
      error: () =>
        new InvalidInputError(
          'circuit',
          `checking it took longer than ${formatDuration(deadlineMs)}; a circuit qpipe runs is checked far sooner`,
        ),
    },
    exited: (code) => new Error(`the circuit checker stopped (exit code ${code})`),
    stopped: () => new Error('the check was stopped'),
    // A checker that failed, or still works on an abandoned circuit, is replaced.
    release: (healthy) => {
      if (!healthy) stop();
    },
  });
  if ('metadata' in reply) return reply.metadata;
  if ('invalid' in reply) throw new CircuitCheckError(reply.invalid.where, reply.invalid.text, reply.invalid.limit);
  throw new Error(reply.internal);
}
