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

function check(
  found: WorkerEntry,
  source: string,
  options: CompileOptions,
  control: { readonly deadlineMs?: number; readonly signal?: AbortSignal },
): Promise<CircuitMetadata> {
  const deadlineMs = control.deadlineMs ?? CHECK_DEADLINE_MS;
  const id = nextId++;
  const thread = workerFor(found);
  return new Promise<CircuitMetadata>((resolve, reject) => {
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      control.signal?.removeEventListener('abort', aborted);
      thread.off('message', onMessage);
      thread.off('error', onError);
      thread.off('exit', onExit);
      thread.unref();
      settle();
    };
    const onMessage = (reply: AnalysisReply) => {
      if (reply.id !== id) return;
      finish(() => {
        if ('metadata' in reply) resolve(reply.metadata);
        else if ('invalid' in reply) {
          reject(new CircuitCheckError(reply.invalid.where, reply.invalid.text, reply.invalid.limit));
        } else reject(new Error(reply.internal));
      });
    };
    const onError = (error: Error) =>
      finish(() => {
        stop();
        reject(error);
      });
    const onExit = (code: number) =>
      finish(() => {
        worker = undefined;
        reject(new Error(`the circuit checker stopped (exit code ${code})`));
      });
    const aborted = () =>
      finish(() => {
        stop();
        reject(control.signal?.reason instanceof Error ? control.signal.reason : new Error('the check was stopped'));
      });
    const timer = setTimeout(
      () =>
        finish(() => {
          stop();
          reject(
            new InvalidInputError(
              'circuit',
              `checking it took longer than ${formatDuration(deadlineMs)}; a circuit qpipe runs is checked far sooner`,
            ),
          );
        }),
      deadlineMs,
    );
    if (control.signal?.aborted) return aborted();
    control.signal?.addEventListener('abort', aborted, { once: true });
    thread.on('message', onMessage);
    thread.on('error', onError);
    thread.on('exit', onExit);
    // Busy, the checker keeps the process alive until it answers.
    thread.ref();
    thread.postMessage({ id, source, options });
  });
}
