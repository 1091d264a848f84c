/** Facts about a circuit for validation and status: size, depth, gate counts, a stable hash. */
import { createHash, type Hash } from 'node:crypto';
import type { CircuitMetadata } from '../resources/schema.ts';
import type { Circuit, ClassicalExpr, Operation, Primitive } from './circuit.ts';
import type { Matrix } from './matrix.ts';

/** What the analysis needs to know besides the operations. */
export type CircuitShape = Pick<Circuit, 'format' | 'numQubits' | 'numClbits'>;

const NO_BITS: readonly number[] = Object.freeze([]);
const NO_PARTS: readonly Primitive[] = Object.freeze([]);

/** Tags of the canonical form the hash is taken over. */
const Opcode = { Gate: 1, Measure: 2, Reset: 3, Barrier: 4, If: 5, Else: 6, EndIf: 7, End: 8, Matrix: 9 } as const;

function conditionBits(condition: ClassicalExpr): number[] {
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

/** stdgates.inc's long names of gates Qiskit knows by short ones, so counts match Qiskit's. */
const QISKIT_NAMES: Readonly<Record<string, string>> = { phase: 'p', cphase: 'cp' };

/**
 * Analyses operations one at a time as the front end produces them, so checking a circuit
 * never needs to hold all of it: depth, counts and the hash are all running figures.
 */
export class CircuitAnalyzer {
  private readonly qubitDepth: number[] = [];
  private readonly clbitDepth: number[] = [];
  private readonly measured = new Set<number>();
  private readonly counts = new Map<string, number>();
  /** Off inside an if's body: Qiskit counts the if_else, not what it holds. */
  private counting = true;
  private gateCount = 0;
  private twoQubitGates = 0;
  private measurements = 0;
  private midCircuitMeasurement = false;
  private classicalControl = false;
  private readonly hash: Hash = createHash('sha256');
  // The canonical form is numbers, fed to the hash a block at a time: building text per
  // operation, or one native update per operation, would cost more than the rest of the
  // analysis together.
  private block = new Float64Array(8192);
  private used = 0;
  private readonly nameIds = new Map<string, number>();
  /** Matrices by content, numbered in order of first use; the front end shares one object per gate and parameters. */
  private readonly matrixIds = new Map<string, number>();
  private readonly matrixIdOf = new WeakMap<Matrix, number>();

  /** Takes the next top-level operation, in program order. */
  push(op: Operation): void {
    this.visit(op, NO_BITS);
    this.canonical(op);
  }

  /** The metadata of everything pushed so far. */
  result(shape: CircuitShape): CircuitMetadata {
    let depth = 0;
    for (const layer of this.qubitDepth) if (layer > depth) depth = layer;
    for (const layer of this.clbitDepth) if (layer > depth) depth = layer;
    this.word(Opcode.End);
    this.word(shape.numQubits);
    this.word(shape.numClbits);
    this.flush();
    // Names are numbered in order of first use; the list makes the numbering part of the hash.
    this.hash.update(JSON.stringify([...this.nameIds.keys()]));
    return {
      format: shape.format,
      qubits: shape.numQubits,
      clbits: shape.numClbits,
      depth,
      gateCount: this.gateCount,
      gateCounts: Object.fromEntries(this.counts),
      twoQubitGates: this.twoQubitGates,
      measurements: this.measurements,
      midCircuitMeasurement: this.midCircuitMeasurement,
      classicalControl: this.classicalControl,
      hash: `sha256:${this.hash.digest('hex')}`,
    };
  }

  private count(name: string): void {
    if (!this.counting) return;
    const counted = QISKIT_NAMES[name] ?? name;
    this.counts.set(counted, (this.counts.get(counted) ?? 0) + 1);
  }

  /** Puts the operation in the layer after everything it depends on. */
  private touch(qubits: readonly number[], clbits: readonly number[], weight = 1): void {
    // Indexed loops: for-of allocates an iterator per loop until the code is optimised,
    // and a single validation run is mostly unoptimised code.
    const { qubitDepth, clbitDepth } = this;
    let layer = 0;
    for (let i = 0; i < qubits.length; i++) layer = Math.max(layer, qubitDepth[qubits[i] as number] ?? 0);
    for (let i = 0; i < clbits.length; i++) layer = Math.max(layer, clbitDepth[clbits[i] as number] ?? 0);
    layer += weight;
    for (let i = 0; i < qubits.length; i++) qubitDepth[qubits[i] as number] = layer;
    for (let i = 0; i < clbits.length; i++) clbitDepth[clbits[i] as number] = layer;
  }

  private visit(op: Operation, readBits: readonly number[]): void {
    switch (op.kind) {
      case 'gate': {
        this.count(op.name);
        this.gateCount++;
        if (op.qubits.length === 2) this.twoQubitGates++;
        for (let i = 0; i < op.qubits.length; i++) {
          if (this.measured.has(op.qubits[i] as number)) this.midCircuitMeasurement = true;
        }
        this.touch(op.qubits, readBits);
        break;
      }
      case 'measure':
        this.count('measure');
        this.measurements++;
        if (this.measured.has(op.qubit)) this.midCircuitMeasurement = true;
        this.measured.add(op.qubit);
        this.touch([op.qubit], op.clbit >= 0 ? [op.clbit, ...readBits] : readBits);
        break;
      case 'reset':
        this.count('reset');
        if (this.measured.has(op.qubit)) this.midCircuitMeasurement = true;
        this.touch([op.qubit], readBits);
        break;
      case 'barrier':
        // Qiskit's depth counts no layer for a barrier, but lines its qubits up to the latest of them.
        this.count('barrier');
        this.touch(op.qubits, [], 0);
        break;
      case 'if': {
        this.classicalControl = true;
        // Counted as Qiskit counts it: one if_else, its body's operations not by name.
        this.count('if_else');
        const bits = [...readBits, ...conditionBits(op.condition)];
        const counting = this.counting;
        this.counting = false;
        try {
          for (const inner of op.then) this.visit(inner, bits);
          for (const inner of op.otherwise) this.visit(inner, bits);
        } finally {
          this.counting = counting;
        }
        break;
      }
    }
  }

  /**
   * The canonical form: names, qubits and parameters rounded to 1e-12, so formatting and
   * comments do not change the hash.
   */
  private canonical(op: Operation): void {
    switch (op.kind) {
      case 'gate': {
        // The bulk of every circuit, so written without a call per word.
        const { qubits, params } = op;
        const parts = op.standard === true ? NO_PARTS : op.parts;
        // What the gate does, not only its name: a modifier or a definition's body changes the
        // parts, and two programs that act differently must never share a hash (stored circuits
        // and compiled forms are addressed by it). Matrices enter the form once each, by content.
        for (let i = 0; i < parts.length; i++) this.matrixId((parts[i] as Primitive).matrix);
        let partWords = 1;
        for (let i = 0; i < parts.length; i++) {
          const part = parts[i] as Primitive;
          partWords += 4 + part.targets.length + part.controls.length;
        }
        const needed = 4 + qubits.length + params.length + partWords;
        if (this.used + needed > this.block.length) {
          this.flush();
          if (needed > this.block.length) this.block = new Float64Array(needed);
        }
        const block = this.block;
        let used = this.used;
        block[used++] = Opcode.Gate;
        block[used++] = this.nameId(op.name);
        block[used++] = qubits.length;
        for (let i = 0; i < qubits.length; i++) block[used++] = qubits[i] as number;
        block[used++] = params.length;
        // + 0 turns -0 into 0.
        for (let i = 0; i < params.length; i++) block[used++] = Math.round((params[i] as number) * 1e12) + 0;
        block[used++] = parts.length;
        for (let i = 0; i < parts.length; i++) {
          const part = parts[i] as Primitive;
          block[used++] = this.nameId(part.name);
          block[used++] = this.matrixIdOf.get(part.matrix) ?? -1;
          block[used++] = part.targets.length;
          for (let j = 0; j < part.targets.length; j++) block[used++] = part.targets[j] as number;
          block[used++] = part.controls.length;
          for (let j = 0; j < part.controls.length; j++) block[used++] = part.controls[j] as number;
        }
        this.used = used;
        break;
      }
      case 'measure':
        this.word(Opcode.Measure);
        this.word(op.qubit);
        this.word(op.clbit);
        break;
      case 'reset':
        this.word(Opcode.Reset);
        this.word(op.qubit);
        break;
      case 'barrier':
        this.word(Opcode.Barrier);
        this.word(op.qubits.length);
        for (let i = 0; i < op.qubits.length; i++) this.word(op.qubits[i] as number);
        break;
      case 'if':
        this.word(Opcode.If);
        this.flush();
        this.hash.update(JSON.stringify(op.condition));
        for (const inner of op.then) this.canonical(inner);
        this.word(Opcode.Else);
        for (const inner of op.otherwise) this.canonical(inner);
        this.word(Opcode.EndIf);
        break;
    }
  }

  private nameId(name: string): number {
    let id = this.nameIds.get(name);
    if (id === undefined) {
      id = this.nameIds.size;
      this.nameIds.set(name, id);
    }
    return id;
  }

  /** The matrix's number; its entries (rounded to 1e-12) go into the form the first time its content is seen. */
  private matrixId(matrix: Matrix): number {
    const known = this.matrixIdOf.get(matrix);
    if (known !== undefined) return known;
    let content = '';
    for (let i = 0; i < matrix.length; i++) content += `${String(Math.round((matrix[i] as number) * 1e12) + 0)},`;
    let id = this.matrixIds.get(content);
    if (id === undefined) {
      id = this.matrixIds.size;
      this.matrixIds.set(content, id);
      this.word(Opcode.Matrix);
      this.word(id);
      this.word(matrix.length);
      for (let i = 0; i < matrix.length; i++) this.word(Math.round((matrix[i] as number) * 1e12) + 0);
    }
    this.matrixIdOf.set(matrix, id);
    return id;
  }

  private word(value: number): void {
    if (this.used === this.block.length) this.flush();
    this.block[this.used++] = value;
  }

  private flush(): void {
    this.hash.update(new Uint8Array(this.block.buffer, 0, this.used * 8));
    this.used = 0;
  }
}

/** Computes the metadata of a whole circuit. */
export function analyzeCircuit(circuit: Circuit): CircuitMetadata {
  const analyzer = new CircuitAnalyzer();
  for (const op of circuit.operations) analyzer.push(op);
  return analyzer.result(circuit);
}
