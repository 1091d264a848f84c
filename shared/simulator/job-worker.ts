/**
 * A worker thread that compiles and simulates one circuit at a time, so that unrolling a large
 * program, fusing its gates and sampling never hold the thread answering requests
 * (off-thread.ts sends the work; passes still split across the simulator's own workers).
 */
import { parentPort } from 'node:worker_threads';
import { QpipeError } from '../errors.ts';
import { compileQasm } from '../qasm/index.ts';
import type { CircuitLimits } from '../qasm/limits.ts';
import { type SimulateOptions, type SimulationResult, simulate } from './run.ts';

/** One simulation to run. */
export interface SimulationJob {
  readonly id: number;
  readonly source: string;
  readonly limits: CircuitLimits;
  readonly options: Omit<SimulateOptions, 'signal'>;
}

/** What the worker answers. */
export type SimulationReply =
  | { readonly id: number; readonly result: SimulationResult }
  | { readonly id: number; readonly error: { readonly message: string; readonly retryable: boolean } };

parentPort?.on('message', (job: SimulationJob) => {
  void (async (): Promise<SimulationReply> => {
    try {
      const { circuit } = compileQasm(job.source, { limits: job.limits });
      return { id: job.id, result: await simulate(circuit, job.options) };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // An error outside qpipe's tree is a fault that may clear; qpipe's own say whether retrying helps.
      return { id: job.id, error: { message, retryable: error instanceof QpipeError ? error.retryable : true } };
    }
  })().then((reply) => parentPort?.postMessage(reply));
});
