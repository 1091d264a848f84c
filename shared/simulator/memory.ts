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

/** The error a circuit of n qubits would meet, or undefined when its state fits. */
export function memoryShortfall(
  numQubits: number,
  limits: { readonly maxMemoryBytes?: number | undefined; readonly precision?: Precision | undefined },
): SimulatorMemoryError | undefined {
  const precision = limits.precision ?? 'double';
  const required = stateVectorBytes(numQubits, precision);
  const limit = Math.min(limits.maxMemoryBytes ?? Infinity, stateVectorBytes(MAX_KERNEL_QUBITS, precision));
  return required > limit ? new SimulatorMemoryError(numQubits, required, limit) : undefined;
}
