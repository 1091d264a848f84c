/**
 * Runs a circuit on the state-vector simulator. Circuits whose measurements are all at
 * the end are simulated once and sampled (O(2^n + shots·log 2^n)); circuits with
 * mid-circuit measurement, reset of used qubits or classical control are simulated per
 * shot, sharing the state up to the first such operation.
 */
import type { Circuit, ClassicalExpr, Operation } from '../qasm/circuit.ts';
import { applyBinary } from '../qasm/operators.ts';
import { BranchLimitError, SimulatorMemoryError } from './errors.ts';
import { type Random, seededRandom } from './random.ts';
import {
  applyPrimitive,
  cloneState,
  collapse,
  flip,
  probabilityOfOne,
  type StateVector,
  zeroState,
} from './state-vector.ts';

/** Options of a simulation. */
export interface SimulateOptions {
  readonly shots: number;
  /** Seed for sampling; absent means a fresh random seed. */
  readonly seed?: number;
  /** Most bytes the state vector may take. */
  readonly maxMemoryBytes?: number;
}

/** What a simulation returns. */
export interface SimulationResult {
  /** Counts by classical bit string, Qiskit's order (registers last-declared first, bit 0 rightmost). */
  readonly counts: Record<string, number>;
  readonly shots: number;
  /** 'sampled': one pass then sampling; 'per-shot': branching simulation. */
  readonly method: 'sampled' | 'per-shot';
  readonly durationMs: number;
  /** Why the slower per-shot method was needed, when it was. */
  readonly note?: string;
}

/** Bytes of memory simulating n qubits takes (complex doubles). */
export function stateVectorBytes(numQubits: number): number {
  return 16 * 2 ** numQubits;
}

/** The circuit's measurement map with implicit measure-all when it measures nothing. */
interface Plan {
  readonly circuit: Circuit;
  readonly operations: readonly Operation[];
  readonly numClbits: number;
  readonly registers: Circuit['classicalRegisters'];
}

function plan(circuit: Circuit): Plan {
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

function hasMeasurement(operations: readonly Operation[]): boolean {
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

function checkMemory(circuit: Circuit, maxMemoryBytes: number | undefined): void {
  const required = stateVectorBytes(circuit.numQubits);
  if (maxMemoryBytes !== undefined && required > maxMemoryBytes) {
    throw new SimulatorMemoryError(circuit.numQubits, required, maxMemoryBytes);
  }
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

/** Simulates a circuit and samples `shots` outcomes. */
export function simulate(circuit: Circuit, options: SimulateOptions): SimulationResult {
  checkMemory(circuit, options.maxMemoryBytes);
  const started = performance.now();
  const random = seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 52));
  const p = plan(circuit);
  const reason = perShotReason(p.operations);
  const counts =
    reason === undefined ? sampleTerminal(p, options.shots, random) : samplePerShot(p, options.shots, random);
  const durationMs = performance.now() - started;
  return reason === undefined
    ? { counts, shots: options.shots, method: 'sampled', durationMs }
    : {
        counts,
        shots: options.shots,
        method: 'per-shot',
        durationMs,
        note: `simulated shot by shot because of ${reason}; took ${durationMs.toFixed(1)} ms`,
      };
}

/** Runs the gates of a measurement-terminal circuit and returns the final state and clbit→qubit map. */
function finalState(p: Plan): { state: StateVector; clbitQubit: Int32Array } {
  const state = zeroState(p.circuit.numQubits);
  const clbitQubit = new Int32Array(p.numClbits).fill(-1);
  for (const op of p.operations) {
    if (op.kind === 'gate') for (const part of op.parts) applyPrimitive(state, part);
    else if (op.kind === 'measure' && op.clbit >= 0) clbitQubit[op.clbit] = op.qubit;
  }
  return { state, clbitQubit };
}

/** The probability of every basis state of the measured qubits, keyed by bit string. */
function terminalDistribution(p: Plan): Map<string, number> {
  const { state, clbitQubit } = finalState(p);
  const a = state.amplitudes;
  const byIndex = new Map<number, number>();
  const measuredQubits = [...new Set([...clbitQubit].filter((q) => q >= 0))];
  for (let i = 0; i < a.length / 2; i++) {
    const prob = (a[2 * i] as number) ** 2 + (a[2 * i + 1] as number) ** 2;
    if (prob === 0) continue;
    let key = 0;
    for (let j = 0; j < measuredQubits.length; j++) {
      if (Math.floor(i / 2 ** (measuredQubits[j] as number)) % 2 === 1) key += 2 ** j;
    }
    byIndex.set(key, (byIndex.get(key) ?? 0) + prob);
  }
  const bits = new Uint8Array(p.numClbits);
  const result = new Map<string, number>();
  for (const [key, prob] of byIndex) {
    for (let c = 0; c < p.numClbits; c++) {
      const q = clbitQubit[c] as number;
      bits[c] = q >= 0 && Math.floor(key / 2 ** measuredQubits.indexOf(q)) % 2 === 1 ? 1 : 0;
    }
    const text = bitString(bits, p.registers);
    result.set(text, (result.get(text) ?? 0) + prob);
  }
  return result;
}

function sampleTerminal(p: Plan, shots: number, random: Random): Record<string, number> {
  const distribution = [...terminalDistribution(p)].sort(([x], [y]) => (x < y ? -1 : 1));
  const cumulative = new Float64Array(distribution.length);
  let total = 0;
  distribution.forEach(([, prob], i) => {
    total += prob;
    cumulative[i] = total;
  });
  const counts: Record<string, number> = {};
  for (let s = 0; s < shots; s++) {
    const u = random() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] as number) > u) hi = mid;
      else lo = mid + 1;
    }
    const key = (distribution[lo] as [string, number])[0];
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

function evaluate(expr: ClassicalExpr, bits: Uint8Array): number {
  switch (expr.kind) {
    case 'const':
      return expr.value;
    case 'bits': {
      let value = 0;
      expr.bits.forEach((b, j) => {
        if (bits[b] === 1) value += 2 ** j;
      });
      return value;
    }
    case 'unary': {
      const v = evaluate(expr.operand, bits);
      return expr.op === '-' ? -v : expr.op === '!' ? Number(!v) : ~v;
    }
    case 'binary':
      return Number(applyBinary(expr.op, evaluate(expr.left, bits), evaluate(expr.right, bits)) ?? 0);
  }
}

/** A source of measurement outcomes: random for sampling, or a forced branch for exact probabilities. */
type Chooser = (probabilityOfOne: number) => 0 | 1;

function execute(operations: readonly Operation[], state: StateVector, bits: Uint8Array, choose: Chooser): void {
  for (const op of operations) {
    switch (op.kind) {
      case 'gate':
        for (const part of op.parts) applyPrimitive(state, part);
        break;
      case 'measure': {
        const p1 = probabilityOfOne(state, op.qubit);
        const outcome = choose(p1);
        collapse(state, op.qubit, outcome, outcome === 1 ? p1 : 1 - p1);
        if (op.clbit >= 0) bits[op.clbit] = outcome;
        break;
      }
      case 'reset': {
        const p1 = probabilityOfOne(state, op.qubit);
        const outcome = choose(p1);
        collapse(state, op.qubit, outcome, outcome === 1 ? p1 : 1 - p1);
        if (outcome === 1) flip(state, op.qubit);
        break;
      }
      case 'barrier':
        break;
      case 'if':
        execute(evaluate(op.condition, bits) ? op.then : op.otherwise, state, bits, choose);
        break;
    }
  }
}

function splitAtFirstNonUnitary(operations: readonly Operation[]): [readonly Operation[], readonly Operation[]] {
  const index = operations.findIndex((op) => op.kind !== 'gate' && op.kind !== 'barrier');
  return index < 0 ? [operations, []] : [operations.slice(0, index), operations.slice(index)];
}

function samplePerShot(p: Plan, shots: number, random: Random): Record<string, number> {
  const [prefix, rest] = splitAtFirstNonUnitary(p.operations);
  const shared = zeroState(p.circuit.numQubits);
  execute(prefix, shared, new Uint8Array(p.numClbits), () => 0);
  const counts: Record<string, number> = {};
  const choose: Chooser = (p1) => (random() < p1 ? 1 : 0);
  for (let s = 0; s < shots; s++) {
    const state = cloneState(shared);
    const bits = new Uint8Array(p.numClbits);
    execute(rest, state, bits, choose);
    const key = bitString(bits, p.registers);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Outcomes below this probability are dropped from exact distributions. */
export const PROBABILITY_FLOOR = 1e-12;

/**
 * The exact probability of each classical outcome. Terminal-measurement circuits use the
 * final state; others enumerate every branch of every measurement (up to `maxBranches`).
 */
export function exactProbabilities(
  circuit: Circuit,
  options: { maxMemoryBytes?: number; maxBranches?: number } = {},
): Record<string, number> {
  checkMemory(circuit, options.maxMemoryBytes);
  const p = plan(circuit);
  const result: Record<string, number> = {};
  if (perShotReason(p.operations) === undefined) {
    for (const [key, prob] of terminalDistribution(p)) if (prob >= PROBABILITY_FLOOR) result[key] = prob;
    return sortKeys(result);
  }
  const maxBranches = options.maxBranches ?? 4096;
  // Depth-first over measurement outcomes: a branch replays the circuit forcing the
  // outcomes in its path; at each new measurement with two possible outcomes it follows 0
  // and queues the path that takes 1 instead.
  const stack: (0 | 1)[][] = [[]];
  let branches = 0;
  while (stack.length > 0) {
    const path = stack.pop() as (0 | 1)[];
    if (++branches > maxBranches) {
      throw new BranchLimitError(maxBranches);
    }
    const taken: (0 | 1)[] = [];
    let probability = 1;
    const state = zeroState(circuit.numQubits);
    const bits = new Uint8Array(p.numClbits);
    execute(p.operations, state, bits, (p1) => {
      const forced = path[taken.length];
      let outcome: 0 | 1;
      if (forced !== undefined) {
        outcome = forced;
      } else if (p1 > PROBABILITY_FLOOR && 1 - p1 > PROBABILITY_FLOOR) {
        stack.push([...taken, 1]);
        outcome = 0;
      } else {
        outcome = p1 > 0.5 ? 1 : 0;
      }
      probability *= outcome === 1 ? p1 : 1 - p1;
      taken.push(outcome);
      return outcome;
    });
    if (probability >= PROBABILITY_FLOOR) {
      const key = bitString(bits, p.registers);
      result[key] = (result[key] ?? 0) + probability;
    }
  }
  return sortKeys(result);
}

function sortKeys(record: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1)));
}
