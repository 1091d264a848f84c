/**
 * Whether a backend can run a circuit once translated for it: Braket devices through
 * their gate names (decomposing what they lack), IBM systems once transpiled onto their
 * coupling map and basis, the local simulator always (its memory is checked elsewhere).
 */
import { isQpipeError } from '../errors.ts';
import type { Circuit } from '../qasm/circuit.ts';
import type { BackendEntry } from './backend.ts';
import { BRAKET_SIMULATOR_GATES, braketProgram } from './braket/program.ts';
import { ibmProgram } from './ibm/isa-program.ts';

/** Why the backend cannot run the circuit, or undefined when it can. */
export function circuitProblem(
  circuit: Circuit,
  backend: BackendEntry,
  liveGates?: readonly string[],
): string | undefined {
  try {
    if (backend.type === 'aws_braket') {
      braketProgram(circuit, new Set(liveGates ?? backend.supportedGates ?? BRAKET_SIMULATOR_GATES));
    } else if (backend.type === 'ibm_quantum' || backend.type === 'ibm_simulator') {
      ibmProgram(circuit, backend);
    }
    return undefined;
  } catch (error) {
    if (!isQpipeError(error)) throw error;
    // Drop the field prefix: the candidate's reason names the backend already.
    return error.message.replace(/^[\w.]+: /, '');
  }
}
