/** Facts about a circuit for validation and status: size, depth, gate counts, a stable hash. */
import { createHash } from 'node:crypto';
import type { CircuitMetadata } from '../resources/schema.ts';
import type { Circuit, Operation } from './circuit.ts';

interface Walk {
  readonly qubitDepth: Int32Array;
  readonly clbitDepth: Int32Array;
  readonly measured: Set<number>;
  counts: Record<string, number>;
  gateCount: number;
  twoQubitGates: number;
  measurements: number;
  midCircuitMeasurement: boolean;
  classicalControl: boolean;
}

function touch(walk: Walk, qubits: readonly number[], clbits: readonly number[]): void {
  const { qubitDepth, clbitDepth } = walk;
  let layer = 0;
  for (let i = 0; i < qubits.length; i++) layer = Math.max(layer, qubitDepth[qubits[i] as number] as number);
  for (let i = 0; i < clbits.length; i++) layer = Math.max(layer, clbitDepth[clbits[i] as number] as number);
  layer++;
  for (let i = 0; i < qubits.length; i++) qubitDepth[qubits[i] as number] = layer;
  for (let i = 0; i < clbits.length; i++) clbitDepth[clbits[i] as number] = layer;
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
    qubitDepth: new Int32Array(circuit.numQubits),
    clbitDepth: new Int32Array(circuit.numClbits),
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
  // Text is fed in chunks: one native update per operation would dominate the cost.
  let chunk = `${circuit.numQubits};${circuit.numClbits};`;
  const add = (text: string) => {
    chunk += text;
    if (chunk.length > 65_536) {
      hash.update(chunk);
      chunk = '';
    }
  };
  const feed = (operations: readonly Operation[]) => {
    for (const op of operations) {
      switch (op.kind) {
        case 'gate':
          add(`g${op.name}(${op.params.map((p) => p.toPrecision(12)).join(',')})${op.qubits.join(',')};`);
          break;
        case 'measure':
          add(`m${op.qubit}>${op.clbit};`);
          break;
        case 'reset':
          add(`r${op.qubit};`);
          break;
        case 'barrier':
          add(`b${op.qubits.join(',')};`);
          break;
        case 'if':
          add(`if${JSON.stringify(op.condition)}{`);
          feed(op.then);
          add('}else{');
          feed(op.otherwise);
          add('}');
          break;
      }
    }
  };
  feed(circuit.operations);
  hash.update(chunk);
  return `sha256:${hash.digest('hex')}`;
}
