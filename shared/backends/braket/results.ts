/**
 * Braket's gate-model task result (results.json, schema
 * braket.task_result.gate_model_task_result): per-shot `measurements` over
 * `measuredQubits`, counted here in Qiskit's order. Devices that report only
 * `measurementProbabilities` are scaled by the shot count.
 * https://docs.aws.amazon.com/braket/latest/developerguide/braket-result-types.html
 */
import { InvalidInputError } from '../../errors.ts';
import type { ProviderTask, TaskState } from '../backend.ts';
import { countsFromReadouts } from '../measurement-layout.ts';

/** The fields of results.json qpipe reads. */
interface GateModelTaskResult {
  readonly measurements?: readonly (readonly number[])[];
  readonly measurementProbabilities?: Readonly<Record<string, number>>;
  readonly measuredQubits?: readonly number[];
  readonly taskMetadata?: { readonly shots?: number; readonly createdAt?: string; readonly endedAt?: string };
  readonly additionalMetadata?: { readonly simulatorMetadata?: { readonly executionDuration?: number } };
}

function millisBetween(start: Date | string | undefined, end: Date | string | undefined): number {
  if (start === undefined || end === undefined) return 0;
  return Math.max(0, new Date(end).getTime() - new Date(start).getTime());
}

/** Counts and timing of a completed task. */
export function decodeBraketResult(
  document: unknown,
  task: ProviderTask,
  times: { createdAt?: Date | string | undefined; endedAt?: Date | string | undefined } = {},
): TaskState {
  const result = document as GateModelTaskResult;
  const qubits = result.measuredQubits;
  if (!Array.isArray(qubits)) throw new InvalidInputError('results.json', 'has no measuredQubits');
  let shots: readonly (readonly number[])[];
  if (Array.isArray(result.measurements)) {
    shots = result.measurements;
  } else if (result.measurementProbabilities) {
    const total = result.taskMetadata?.shots ?? task.shots;
    shots = Object.entries(result.measurementProbabilities).flatMap(([bits, p]) =>
      Array.from({ length: Math.round(p * total) }, () => Array.from(bits, Number)),
    );
  } else {
    throw new InvalidInputError('results.json', 'has neither measurements nor measurementProbabilities');
  }
  const durationMs = millisBetween(
    times.createdAt ?? result.taskMetadata?.createdAt,
    times.endedAt ?? result.taskMetadata?.endedAt,
  );
  // Simulators bill their execution time; QPUs bill per task and shot, not time.
  const executionMs = result.additionalMetadata?.simulatorMetadata?.executionDuration;
  return {
    kind: 'completed',
    counts: countsFromReadouts(shots, qubits, task.layout),
    shots: shots.length,
    durationMs,
    billedSeconds: executionMs === undefined ? 0 : executionMs / 1000,
  };
}
