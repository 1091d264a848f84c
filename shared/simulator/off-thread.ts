/**
 * Simulations off the thread that answers requests: a job worker (job-worker.ts) compiles and
 * simulates the circuit's source, so health checks answer and SIGTERM is heard whatever is
 * simulated. Idle workers are kept for the next simulation and never keep the process alive;
 * an aborted simulation's worker is terminated (its pass workers with it).
 */
import { Worker } from 'node:worker_threads';
import { PermanentError, TransientError } from '../errors.ts';
import type { CircuitLimits } from '../qasm/limits.ts';
import { findWorkerEntry, type WorkerEntry } from '../worker-entry.ts';
import { requestWorker } from '../worker-request.ts';
import type { SimulationJob, SimulationReply } from './job-worker.ts';
import type { SimulateOptions, SimulationResult } from './run.ts';

/** Idle job workers kept between simulations. */
const KEEP_IDLE = 2;
const idle: Worker[] = [];
let entry: WorkerEntry | undefined | null = null;
let nextId = 0;

/** Whether simulations can run on a job worker here (its code is present). */
export function canSimulateOffThread(): boolean {
  if (entry === null) entry = findWorkerEntry(import.meta.url, 'job-worker', 'simulation-worker.mjs');
  return entry !== undefined;
}

/** Compiles and simulates `source` on a job worker; rejects with the signal's reason when it aborts. */
export async function simulateOffThread(
  source: string,
  limits: CircuitLimits,
  options: SimulateOptions,
): Promise<SimulationResult> {
  if (!canSimulateOffThread()) throw new Error('the simulation worker is not present');
  const { signal, ...rest } = options;
  const found = entry as WorkerEntry;
  const worker = idle.pop() ?? new Worker(found.script, { eval: found.eval, execArgv: [] });
  const job: SimulationJob = { id: nextId++, source, limits, options: rest };
  const reply = await requestWorker<SimulationReply>(worker, job, {
    signal,
    exited: (code) => new TransientError(`the simulation worker stopped (exit code ${code})`),
    stopped: () => new PermanentError('the simulation was stopped'),
    // A worker that answered waits for the next simulation; one aborted mid-run (its pass workers with it) goes.
    release: (healthy) => {
      if (healthy && idle.length < KEEP_IDLE) idle.push(worker);
      else void worker.terminate();
    },
  });
  if ('result' in reply) return reply.result;
  const { message, retryable } = reply.error;
  throw retryable ? new TransientError(message) : new PermanentError(message);
}
