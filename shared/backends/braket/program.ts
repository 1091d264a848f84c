/**
 * The OpenQASM 3 program Amazon Braket runs for a circuit on one device: the device's gate
 * names (gate-translation.ts decomposes what it lacks), one bit register holding every
 * classical bit, and terminal measurements.
 * https://docs.aws.amazon.com/braket/latest/developerguide/braket-openqasm-supported-features.html
 */
import type { Circuit, Operation } from '../../qasm/circuit.ts';
import { GateTranslator } from '../gate-translation.ts';
import { perCircuit } from '../per-circuit.ts';
import { type MeasurementLayout, measurementLayout } from '../measurement-layout.ts';

/** Braket's OpenQASM gate names on its on-demand simulators, the set used when a device says nothing. */
export const BRAKET_SIMULATOR_GATES = [
  'ccnot',
  'cnot',
  'cphaseshift',
  'cswap',
  'cy',
  'cz',
  'h',
  'i',
  'iswap',
  'phaseshift',
  'rx',
  'ry',
  'rz',
  's',
  'si',
  'swap',
  't',
  'ti',
  'v',
  'vi',
  'x',
  'xx',
  'y',
  'yy',
  'z',
  'zz',
] as const;

/** A program ready for CreateQuantumTask, and how to read its results back. */
export interface BraketProgram {
  /** The OpenQASM 3 source. */
  readonly source: string;
  /** The `action` document CreateQuantumTask takes. */
  readonly action: string;
  readonly layout: MeasurementLayout;
  readonly gateCount: number;
}

function gatesOf(operations: readonly Operation[], translator: GateTranslator): void {
  for (const op of operations) {
    if (op.kind !== 'gate') continue;
    for (const part of op.parts) translator.add(part, `gate ${op.name} on qubits ${op.qubits.join(', ')}`);
  }
}

/** Angles in full precision, so the device runs the circuit that was written. */
const number = (x: number) => (Object.is(x, -0) ? '0' : String(x));

const translations = perCircuit<BraketProgram>();

/** Translates a circuit for a device whose OpenQASM gate names are `deviceGates`, once per circuit and gate set. */
export function braketProgram(circuit: Circuit, deviceGates: ReadonlySet<string>): BraketProgram {
  return translations(circuit, [...deviceGates].sort().join(','), () => translate(circuit, deviceGates));
}

function translate(circuit: Circuit, deviceGates: ReadonlySet<string>): BraketProgram {
  const layout = measurementLayout(circuit, 'Amazon Braket');
  const translator = new GateTranslator(deviceGates);
  gatesOf(circuit.operations, translator);
  const lines = ['OPENQASM 3.0;', `bit[${layout.clbitQubits.length}] c;`, `qubit[${circuit.numQubits}] q;`];
  for (const gate of translator.gates) {
    const params = gate.params.length > 0 ? `(${gate.params.map(number).join(', ')})` : '';
    lines.push(`${gate.name}${params} ${gate.qubits.map((q) => `q[${q}]`).join(', ')};`);
  }
  layout.clbitQubits.forEach((q, b) => {
    if (q >= 0) lines.push(`c[${b}] = measure q[${q}];`);
  });
  const source = `${lines.join('\n')}\n`;
  const action = JSON.stringify({
    braketSchemaHeader: { name: 'braket.ir.openqasm.program', version: '1' },
    source,
    inputs: {},
  });
  return { source, action, layout, gateCount: translator.gates.length };
}
