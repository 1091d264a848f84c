/**
 * The OpenQASM 3 PUB for IBM's sampler. IBM runs only circuits in the backend's
 * instruction set architecture (ISA): its basis gates, on physical qubits, two-qubit gates
 * on coupled pairs. qpipe transpiles every circuit for the backend (shared/transpile), so
 * users submit circuits as they wrote them; the measurements land in the circuit's own
 * classical bits, so IBM's per-register samples decode into the user's bit order.
 */
import type { Circuit } from '../../qasm/circuit.ts';
import { targetFor } from '../../transpile/target.ts';
import { transpile } from '../../transpile/transpile.ts';
import type { BackendEntry } from '../backend.ts';
import type { MeasurementLayout } from '../measurement-layout.ts';
import { perCircuit } from '../per-circuit.ts';

/** A PUB circuit and how to read its samples. */
export interface IbmProgram {
  readonly source: string;
  readonly layout: MeasurementLayout;
}

const programs = perCircuit<IbmProgram>();

/** The sampler program for a circuit on a backend, transpiled at `optimizationLevel` (default 1), or the error naming why it cannot run there. */
export function ibmProgram(circuit: Circuit, backend: BackendEntry, optimizationLevel = 1): IbmProgram {
  const key = JSON.stringify([
    backend.name,
    backend.qubits,
    backend.supportedGates,
    backend.connectivity,
    optimizationLevel,
  ]);
  return programs(circuit, key, () => {
    const transpiled = transpile(circuit, targetFor(backend), { optimizationLevel });
    return { source: transpiled.qasm, layout: transpiled.measurements };
  });
}
