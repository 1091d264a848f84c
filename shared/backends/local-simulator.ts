/** The built-in simulator as a backend executor: runs synchronously, costs no provider time. */
import { simulate } from '../simulator/run.ts';
import type { BackendExecutor, ExecutionOutcome, ExecutionRequest } from './backend.ts';

/** Creates the local-simulator executor with its memory limit. */
export function createLocalSimulatorExecutor(options: { maxMemoryBytes: number }): BackendExecutor {
  return {
    type: 'local_simulator',
    async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
      const result = simulate(request.circuit, {
        shots: request.shots,
        maxMemoryBytes: options.maxMemoryBytes,
        ...(request.seed === undefined ? {} : { seed: request.seed }),
      });
      return {
        kind: 'completed',
        counts: result.counts,
        shots: result.shots,
        durationMs: result.durationMs,
        billedSeconds: result.durationMs / 1000,
        ...(result.note === undefined ? {} : { note: result.note }),
      };
    },
  };
}
