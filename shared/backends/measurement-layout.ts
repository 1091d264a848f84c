/**
 * How a provider's measurements map back to the circuit's classical bits, and the
 * decoding of provider results into counts keyed as Qiskit prints them (registers
 * last-declared first, bit 0 rightmost).
 */
import { type Static, Type } from '@sinclair/typebox';
import { InvalidInputError } from '../errors.ts';
import type { Circuit } from '../qasm/circuit.ts';
import { bitString, measurementPlan, perShotReason } from '../qasm/measurement.ts';

/** The classical layout of a circuit whose measurements are all at the end. */
export const MeasurementLayout = Type.Object({
  registers: Type.Array(Type.Object({ name: Type.String(), offset: Type.Integer(), size: Type.Integer() })),
  /** For each classical bit, the qubit measured into it, or -1 when none is. */
  clbitQubits: Type.Array(Type.Integer({ minimum: -1 })),
});
export type MeasurementLayout = Static<typeof MeasurementLayout>;

/**
 * The layout of a circuit run on a provider: terminal measurements only (gate-model
 * tasks on Braket and IBM's sampler return one final readout per shot).
 */
export function measurementLayout(circuit: Circuit, provider: string): MeasurementLayout {
  const plan = measurementPlan(circuit);
  const reason = perShotReason(plan.operations);
  if (reason !== undefined) {
    throw new InvalidInputError(
      'spec.circuit',
      `${provider} runs only circuits whose measurements come last (${reason})`,
    );
  }
  const clbitQubits = new Array<number>(plan.numClbits).fill(-1);
  for (const op of plan.operations) if (op.kind === 'measure' && op.clbit >= 0) clbitQubits[op.clbit] = op.qubit;
  return { registers: [...plan.registers], clbitQubits };
}

/** Qubits the layout measures, ascending. */
export function measuredQubits(layout: MeasurementLayout): number[] {
  return [...new Set(layout.clbitQubits.filter((q) => q >= 0))].sort((a, b) => a - b);
}

function tally(counts: Record<string, number>, key: string, times = 1): void {
  counts[key] = (counts[key] ?? 0) + times;
}

/**
 * Counts from per-shot readouts: `shots[i][j]` is the value of qubit `qubits[j]` in shot i
 * (Braket's `measurements` and `measuredQubits`).
 */
export function countsFromReadouts(
  shots: readonly (readonly number[])[],
  qubits: readonly number[],
  layout: MeasurementLayout,
): Record<string, number> {
  const column = layout.clbitQubits.map((q) => (q < 0 ? -1 : qubits.indexOf(q)));
  const missing = layout.clbitQubits.find((q, i) => q >= 0 && column[i] === -1);
  if (missing !== undefined) {
    throw new InvalidInputError('measuredQubits', `the result has no readout of qubit ${missing}`);
  }
  const bits = new Uint8Array(layout.clbitQubits.length);
  const counts: Record<string, number> = {};
  for (const shot of shots) {
    for (let b = 0; b < column.length; b++) {
      const j = column[b] as number;
      bits[b] = j < 0 ? 0 : shot[j] === 1 ? 1 : 0;
    }
    tally(counts, bitString(bits, layout.registers));
  }
  return counts;
}

/**
 * Counts from per-register samples: `samples[name][i]` is register `name` in shot i as a
 * hex integer whose bit k is the register's bit k (IBM's sampler results).
 */
export function countsFromRegisterSamples(
  samples: Readonly<Record<string, readonly string[]>>,
  layout: MeasurementLayout,
): Record<string, number> {
  const columns = layout.registers.map((r) => {
    const values = r.size === 0 ? [] : samples[r.name];
    if (!values) throw new InvalidInputError(`results.data.${r.name}`, 'is missing from the result');
    return values;
  });
  const shots = Math.max(0, ...columns.map((c) => c.length));
  const bits = new Uint8Array(layout.clbitQubits.length);
  const counts: Record<string, number> = {};
  for (let i = 0; i < shots; i++) {
    layout.registers.forEach((register, r) => {
      if (register.size === 0) return;
      const value = BigInt((columns[r] as readonly string[])[i] ?? '0x0');
      for (let b = 0; b < register.size; b++) bits[register.offset + b] = Number((value >> BigInt(b)) & 1n);
    });
    tally(counts, bitString(bits, layout.registers));
  }
  return counts;
}
