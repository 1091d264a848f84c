/** The built-in simulator as a backend executor: costs no provider time. */
import type { Metrics } from '../observability/metrics.ts';
import { mayTakeAWhile } from '../qasm/index.ts';
import { canSimulateOffThread, simulateOffThread } from '../simulator/off-thread.ts';
import { type EngineSettings, simulate } from '../simulator/run.ts';
import type { BackendExecutor, ExecutionOutcome, ExecutionRequest } from './backend.ts';

/**
 * Creates the local-simulator executor with its memory limit and engine settings
 * (QpipeConfig.simulator fits), recording each run's time when the runtime exposes metrics.
 */
export function createLocalSimulatorExecutor(
  options: EngineSettings & { maxMemoryBytes: number },
  metrics?: Metrics,
): BackendExecutor {
  return {
    type: 'local_simulator',
    async execute(request: ExecutionRequest): Promise<ExecutionOutcome> {
      const settings = {
        ...options,
        shots: request.shots,
        ...(request.seed === undefined ? {} : { seed: request.seed }),
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      };
      // A program that takes a while to unroll is compiled and simulated on a worker, so the
      // thread answering requests stays free; the circuit is then never compiled here.
      const { program } = request;
      const result =
        program && mayTakeAWhile(program.source) && canSimulateOffThread()
          ? await simulateOffThread(program.source, program.limits, settings)
          : await simulate(request.circuit, settings);
      metrics?.simulator.observe(result.durationMs / 1000);
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
