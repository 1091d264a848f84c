/**
 * Where a circuit's measurements go: the classical layout counts are keyed by (with the
 * implicit measure-all of a circuit that measures nothing, as Braket does), whether all
 * measurements are terminal, and Qiskit's counts key.
 */
import type { Circuit, Operation } from './circuit.ts';

/** The circuit's measurement map with implicit measure-all when it measures nothing. */
export interface MeasurementPlan {
  readonly circuit: Circuit;
  readonly operations: readonly Operation[];
  readonly numClbits: number;
  readonly registers: Circuit['classicalRegisters'];
}

export function measurementPlan(circuit: Circuit): MeasurementPlan {
  if (hasMeasurement(circuit.operations)) {
    return {
      circuit,
      operations: circuit.operations,
      numClbits: circuit.numClbits,
      registers: circuit.classicalRegisters,
    };
  }
  // Like Braket, a circuit without measurements is measured on every qubit at the end.
  const offset = circuit.numClbits;
  const measures: Operation[] = Array.from({ length: circuit.numQubits }, (_, q) => ({
    kind: 'measure',
    qubit: q,
    clbit: offset + q,
  }));
  return {
    circuit,
    operations: [...circuit.operations, ...measures],
    numClbits: offset + circuit.numQubits,
    registers: [...circuit.classicalRegisters, { name: 'meas', offset, size: circuit.numQubits }],
  };
}

export function hasMeasurement(operations: readonly Operation[]): boolean {
  return operations.some(
    (op) => op.kind === 'measure' || (op.kind === 'if' && (hasMeasurement(op.then) || hasMeasurement(op.otherwise))),
  );
}

/**
 * Why the circuit needs per-shot simulation, or undefined when all measurements are
 * terminal: no operation touches a measured qubit afterwards, no reset acts on a qubit
 * that a gate has touched, and nothing is conditioned on measured bits.
 */
export function perShotReason(operations: readonly Operation[]): string | undefined {
  const measured = new Set<number>();
  const touched = new Set<number>();
  for (const op of operations) {
    switch (op.kind) {
      case 'if':
        return 'classical control (if on measured bits)';
      case 'measure':
        if (measured.has(op.qubit)) return 'a qubit is measured twice';
        measured.add(op.qubit);
        break;
      case 'reset':
        if (measured.has(op.qubit)) return 'reset after measurement';
        if (touched.has(op.qubit)) return 'reset of a qubit in use';
        break;
      case 'gate':
        for (const q of op.qubits) {
          if (measured.has(q)) return 'mid-circuit measurement';
          touched.add(q);
        }
        break;
      case 'barrier':
        break;
    }
  }
  return undefined;
}

/** Formats classical bits as Qiskit prints a counts key. */
export function bitString(bits: Uint8Array, registers: Circuit['classicalRegisters']): string {
  const parts: string[] = [];
  for (let r = registers.length - 1; r >= 0; r--) {
    const register = registers[r] as Circuit['classicalRegisters'][number];
    let text = '';
    for (let b = register.size - 1; b >= 0; b--) text += bits[register.offset + b] === 1 ? '1' : '0';
    parts.push(text);
  }
  return parts.join(' ');
}
