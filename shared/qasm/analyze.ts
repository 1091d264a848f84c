/** Facts about a circuit for validation and status: size, depth, gate counts, a stable hash. */
import { createHash } from 'node:crypto';
import type { CircuitMetadata } from '../resources/schema.ts';
import type { Circuit, Operation } from './circuit.ts';

interface Walk {
  readonly qubitDepth: number[];
  readonly clbitDepth: number[];
  readonly measured: Set<number>;
  counts: Record<string, number>;
  gateCount: number;
  twoQubitGates: number;
  measurements: number;
  midCircuitMeasurement: boolean;
  classicalControl: boolean;
}

function touch(walk: Walk, qubits: readonly number[], clbits: readonly number[]): void {
  let layer = 0;
  for (const q of qubits) layer = Math.max(layer, walk.qubitDepth[q] ?? 0);
  for (const c of clbits) layer = Math.max(layer, walk.clbitDepth[c] ?? 0);
  layer++;
  for (const q of qubits) walk.qubitDepth[q] = layer;
  for (const c of clbits) walk.clbitDepth[c] = layer;
}

function conditionBits(condition: Extract<Operation, { kind: 'if' }>['condition']): number[] {
  switch (condition.kind) {
    case 'const':
      return [];
    case 'bits':
      return [...condition.bits];
    case 'unary':
      return conditionBits(condition.operand);
    case 'binary':
      return [...conditionBits(condition.left), ...conditionBits(condition.right)];
  }
}

function visit(walk: Walk, operations: readonly Operation[], readBits: readonly number[]): void {
  for (const op of operations) {
    switch (op.kind) {
      case 'gate': {
        walk.counts[op.name] = (walk.counts[op.name] ?? 0) + 1;
        walk.gateCount++;
        if (op.qubits.length === 2) walk.twoQubitGates++;
        if (op.qubits.some((q) => walk.measured.has(q))) walk.midCircuitMeasurement = true;
        touch(walk, op.qubits, readBits);
        break;
      }
      case 'measure':
        walk.counts['measure'] = (walk.counts['measure'] ?? 0) + 1;
        walk.measurements++;
        if (walk.measured.has(op.qubit)) walk.midCircuitMeasurement = true;
        walk.measured.add(op.qubit);
        touch(walk, [op.qubit], op.clbit >= 0 ? [op.clbit, ...readBits] : readBits);
        break;
      case 'reset':
        walk.counts['reset'] = (walk.counts['reset'] ?? 0) + 1;
        if (walk.measured.has(op.qubit)) walk.midCircuitMeasurement = true;
        touch(walk, [op.qubit], readBits);
        break;
      case 'barrier':
        // Qiskit's depth ignores barriers.
        walk.counts['barrier'] = (walk.counts['barrier'] ?? 0) + 1;
        break;
      case 'if': {
        walk.classicalControl = true;
        const bits = [...readBits, ...conditionBits(op.condition)];
        visit(walk, op.then, bits);
        visit(walk, op.otherwise, bits);
        break;
      }
    }
  }
}

/** Computes the circuit metadata written to job status. */
export function analyzeCircuit(circuit: Circuit): CircuitMetadata {
  const walk: Walk = {
    qubitDepth: new Array<number>(circuit.numQubits).fill(0),
    clbitDepth: new Array<number>(circuit.numClbits).fill(0),
    measured: new Set(),
    counts: {},
    gateCount: 0,
    twoQubitGates: 0,
    measurements: 0,
    midCircuitMeasurement: false,
    classicalControl: false,
  };
  visit(walk, circuit.operations, []);
  const depth = Math.max(0, ...walk.qubitDepth, ...walk.clbitDepth);
  return {
    format: circuit.format,
    qubits: circuit.numQubits,
    clbits: circuit.numClbits,
    depth,
    gateCount: walk.gateCount,
    gateCounts: walk.counts,
    twoQubitGates: walk.twoQubitGates,
    measurements: walk.measurements,
    midCircuitMeasurement: walk.midCircuitMeasurement,
    classicalControl: walk.classicalControl,
    hash: circuitHash(circuit),
  };
}

/**
 * SHA-256 of the canonical circuit: operations with names, qubits and parameters rounded
 * to 12 significant digits, so formatting and comments do not change it.
 */
export function circuitHash(circuit: Circuit): string {
  const hash = createHash('sha256');
  hash.update(`${circuit.numQubits};${circuit.numClbits};`);
  const feed = (operations: readonly Operation[]) => {
    for (const op of operations) {
      switch (op.kind) {
        case 'gate':
          hash.update(`g${op.name}(${op.params.map((p) => p.toPrecision(12)).join(',')})${op.qubits.join(',')};`);
          break;
        case 'measure':
          hash.update(`m${op.qubit}>${op.clbit};`);
          break;
        case 'reset':
          hash.update(`r${op.qubit};`);
          break;
        case 'barrier':
          hash.update(`b${op.qubits.join(',')};`);
          break;
        case 'if':
          hash.update(`if${JSON.stringify(op.condition)}{`);
          feed(op.then);
          hash.update('}else{');
          feed(op.otherwise);
          hash.update('}');
          break;
      }
    }
  };
  feed(circuit.operations);
  return `sha256:${hash.digest('hex')}`;
}
