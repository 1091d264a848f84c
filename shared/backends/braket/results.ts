/**
 * Braket's gate-model task result (results.json, schema
 * braket.task_result.gate_model_task_result): per-shot `measurements` over
 * `measuredQubits`, counted here in Qiskit's order. Devices that report only
 * `measurementProbabilities` are scaled by the shot count.
 * https://docs.aws.amazon.com/braket/latest/developerguide/braket-result-types.html
 */
import { Type } from '@sinclair/typebox';
import { InvalidInputError } from '../../errors.ts';
import { checkSchema } from '../../resources/validate.ts';
import type { ProviderTask, TaskState } from '../backend.ts';
import { countsFromReadouts } from '../measurement-layout.ts';

/** The fields of results.json qpipe reads (others pass). */
const GateModelTaskResult = Type.Object({
  measurements: Type.Optional(Type.Array(Type.Array(Type.Integer({ minimum: 0, maximum: 1 })))),
  measurementProbabilities: Type.Optional(Type.Record(Type.String(), Type.Number({ minimum: 0, maximum: 1 }))),
  measuredQubits: Type.Array(Type.Integer({ minimum: 0 })),
  taskMetadata: Type.Optional(
    Type.Object({
      shots: Type.Optional(Type.Integer({ minimum: 0 })),
      createdAt: Type.Optional(Type.String()),
      endedAt: Type.Optional(Type.String()),
    }),
  ),
  additionalMetadata: Type.Optional(
    Type.Object({
      simulatorMetadata: Type.Optional(Type.Object({ executionDuration: Type.Optional(Type.Number({ minimum: 0 })) })),
    }),
  ),
});

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
  const result = checkSchema(GateModelTaskResult, document, `Braket results.json of ${task.taskId}`);
  const qubits = result.measuredQubits;
  let shots: readonly (readonly number[])[];
  if (result.measurements) {
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
