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
export function simulateOffThread(
  source: string,
  limits: CircuitLimits,
  options: SimulateOptions,
): Promise<SimulationResult> {
  if (!canSimulateOffThread()) throw new Error('the simulation worker is not present');
  const { signal, ...rest } = options;
  const found = entry as WorkerEntry;
  const worker = idle.pop() ?? new Worker(found.script, { eval: found.eval, execArgv: [] });
  worker.ref();
  const id = nextId++;
  return new Promise<SimulationResult>((resolve, reject) => {
    const finish = (keep: boolean, settle: () => void) => {
      signal?.removeEventListener('abort', aborted);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (keep && idle.length < KEEP_IDLE) {
        worker.unref();
        idle.push(worker);
      } else void worker.terminate();
      settle();
    };
    const onMessage = (reply: SimulationReply) => {
      if (reply.id !== id) return;
      finish(true, () => {
        if ('result' in reply) resolve(reply.result);
        else {
          const { message, retryable } = reply.error;
          reject(retryable ? new TransientError(message) : new PermanentError(message));
        }
      });
    };
    const onError = (error: Error) => finish(false, () => reject(error));
    const onExit = (code: number) =>
      finish(false, () => reject(new TransientError(`the simulation worker stopped (exit code ${code})`)));
    const aborted = () =>
      finish(false, () =>
        reject(signal?.reason instanceof Error ? signal.reason : new PermanentError('the simulation was stopped')),
      );
    if (signal?.aborted) return aborted();
    signal?.addEventListener('abort', aborted, { once: true });
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage({ id, source, limits, options: rest } satisfies SimulationJob);
  });
}
