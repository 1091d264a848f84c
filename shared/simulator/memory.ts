/** How much memory a state vector takes, and the check made before allocating one (by validation and by the simulator). */
import { SimulatorMemoryError } from './errors.ts';

/** The largest state the kernels index (2^30 amplitudes, 16 GiB in double precision): their index arithmetic is 32-bit. */
export const MAX_KERNEL_QUBITS = 30;

/** Floating-point precision of the state: double (16 bytes per amplitude) or single (8). */
export type Precision = 'double' | 'single';

/** Bytes of the state vector of n qubits. */
export function stateVectorBytes(numQubits: number, precision: Precision = 'double'): number {
  return (precision === 'double' ? 16 : 8) * 2 ** numQubits;
}

/**
 * Memory an unrolled gate holds while it is simulated (its operation, primitive and fused
 * share), measured on 4M-gate circuits; with it, a deep circuit on few qubits is refused by
 * validation instead of exhausting the heap.
 */
export const BYTES_PER_GATE = 512;

/** The error a circuit of n qubits and `gates` unrolled gates would meet, or undefined when it fits. */
export function memoryShortfall(
  numQubits: number,
  limits: { readonly maxMemoryBytes?: number | undefined; readonly precision?: Precision | undefined },
  gates = 0,
): SimulatorMemoryError | undefined {
  const precision = limits.precision ?? 'double';
  const required = stateVectorBytes(numQubits, precision) + gates * BYTES_PER_GATE;
  const limit = Math.min(limits.maxMemoryBytes ?? Infinity, stateVectorBytes(MAX_KERNEL_QUBITS, precision));
  return required > limit ? new SimulatorMemoryError(numQubits, required, limit, gates) : undefined;
}
