/**
 * The OpenQASM 3 PUB for IBM's sampler. IBM runs only circuits already in the backend's
 * instruction set architecture (ISA): its basis gates, on physical qubits, two-qubit gates
 * on coupled pairs. qpipe has no transpiler yet, so it passes ISA circuits through and
 * rejects others, naming the first gate that is not in the ISA.
 */
import { InvalidInputError } from '../../errors.ts';
import type { Circuit, Operation } from '../../qasm/circuit.ts';
import type { BackendEntry } from '../backend.ts';
import { type MeasurementLayout, measurementLayout } from '../measurement-layout.ts';

/** Basis gates of IBM's Eagle (ECR) and Heron (CZ) processors, for backends that list none. */
export const IBM_DEFAULT_BASIS = ['ecr', 'cz', 'id', 'rz', 'sx', 'x'] as const;

/** ECR as Qiskit defines it (rzx(π/4)·x·rzx(-π/4), rzx spelled out), since stdgates.inc lacks it. */
const ECR_DEFINITION =
  'gate ecr a, b { h b; cx a, b; rz(pi/4) b; cx a, b; h b; x a; h b; cx a, b; rz(-pi/4) b; cx a, b; h b; }';

/** A PUB circuit and how to read its samples. */
export interface IbmProgram {
  readonly source: string;
  readonly layout: MeasurementLayout;
}

function isaProblem(op: Operation, backend: BackendEntry, basis: ReadonlySet<string>): string | undefined {
  if (op.kind === 'if') return 'classical control is not run by the sampler';
  if (op.kind !== 'gate') return undefined;
  if (!basis.has(op.name)) return `gate ${op.name} is not in ${backend.name}'s basis (${[...basis].join(', ')})`;
  if (op.qubits.length === 2 && backend.connectivity) {
    const [a, b] = op.qubits as [number, number];
    const coupled = backend.connectivity.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
    if (!coupled) return `qubits ${a} and ${b} of gate ${op.name} are not coupled on ${backend.name}`;
  }
  return undefined;
}

const number = (x: number) => (Object.is(x, -0) ? '0' : String(x));

/** The sampler program for an ISA circuit, or an error naming what is not in the ISA. */
export function ibmProgram(circuit: Circuit, backend: BackendEntry): IbmProgram {
  const basis = new Set(backend.supportedGates ?? IBM_DEFAULT_BASIS);
  if (circuit.numQubits > backend.qubits) {
    throw new InvalidInputError(
      'spec.circuit',
      `uses ${circuit.numQubits} qubits; ${backend.name} has ${backend.qubits}`,
    );
  }
  circuit.operations.forEach((op, i) => {
    const problem = isaProblem(op, backend, basis);
    if (problem) {
      throw new InvalidInputError(
        'spec.circuit',
        `IBM Quantum runs only circuits in the backend's ISA, and operation ${i + 1} is not: ${problem}. ` +
          'Transpile the circuit for the backend first (qpipe has no transpile step yet).',
      );
    }
  });
  const layout = measurementLayout(circuit, 'IBM Quantum');
  const usesEcr = circuit.operations.some((op) => op.kind === 'gate' && op.name === 'ecr');
  const lines = ['OPENQASM 3.0;', 'include "stdgates.inc";', ...(usesEcr ? [ECR_DEFINITION] : [])];
  for (const register of layout.registers) lines.push(`bit[${register.size}] ${register.name};`);
  lines.push(`qubit[${circuit.numQubits}] q;`);
  for (const op of circuit.operations) {
    if (op.kind === 'gate') {
      const params = op.params.length > 0 ? `(${op.params.map(number).join(', ')})` : '';
      lines.push(`${op.name}${params} ${op.qubits.map((q) => `q[${q}]`).join(', ')};`);
    } else if (op.kind === 'reset') {
      lines.push(`reset q[${op.qubit}];`);
    }
  }
  layout.clbitQubits.forEach((q, bit) => {
    if (q < 0) return;
    const register = layout.registers.find((r) => bit >= r.offset && bit < r.offset + r.size);
    if (register) lines.push(`${register.name}[${bit - register.offset}] = measure q[${q}];`);
  });
  return { source: `${lines.join('\n')}\n`, layout };
}
