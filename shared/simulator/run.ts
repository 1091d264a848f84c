/**
 * Runs a circuit on the state-vector simulator. Gates are fused into few passes
 * (fusion.ts) applied by specialised kernels (kernels.ts), split across worker threads for
 * large states (engine.ts). Circuits whose measurements are all at the end are simulated
 * once and sampled in O(2^n + shots·log shots); circuits with mid-circuit measurement,
 * reset of used qubits or classical control are simulated per shot, sharing the state up
 * to the first such operation.
 */
import type { Circuit, ClassicalExpr, Operation } from '../qasm/circuit.ts';
import { bitString, measurementPlan, type MeasurementPlan, perShotReason } from '../qasm/measurement.ts';
import { applyBinary } from '../qasm/operators.ts';
import {
  allocateState,
  canRunParallel,
  type KernelChoice,
  runPasses,
  runPassesParallel,
  zeroAmplitudes,
} from './engine.ts';
import { BranchLimitError } from './errors.ts';
import { DEFAULT_FUSION_WIDTH, fuseGates } from './fusion.ts';
import type { KernelOp } from './kernels.ts';
import { memoryShortfall, type Precision } from './memory.ts';
import { type Random, seededRandom } from './random.ts';
import { collapse, flip, probabilityOfOne, type StateVector } from './state-vector.ts';
import { cpuQuota } from './cpu-quota.ts';

export { type Precision, stateVectorBytes } from './memory.ts';

/** How the simulator runs: precision, threads and fusion. */
export interface EngineSettings {
  /** 'double' (default) or 'single', which halves memory. */
  readonly precision?: Precision;
  /** Worker threads for large states; default: the available cores. */
  readonly threads?: number;
  /** 'simd' (default): WebAssembly SIMD kernels where the runtime has them; 'scalar': the JavaScript kernels. */
  readonly kernels?: KernelChoice;
  /** Widest fused block in qubits; 0 turns fusion off. */
  readonly fusionWidth?: number;
  /**
   * Least work (passes × amplitudes) worth splitting across threads: starting a worker
   * costs tens of milliseconds, more than a few passes over a small state take.
   */
  readonly parallelMinWork?: number;
}

/** Options of a simulation. */
export interface SimulateOptions extends EngineSettings {
  readonly shots: number;
  /** Seed for sampling; absent means a fresh random seed. */
  readonly seed?: number;
  /** Most bytes the state vector may take. */
  readonly maxMemoryBytes?: number;
  /**
   * Stops the simulation when aborted (a stage's time limit): its worker threads are
   * terminated and simulate() rejects with the signal's reason. With a signal, large
   * simulations always run on worker threads, so the caller's event loop stays free to abort.
   */
  readonly signal?: AbortSignal;
}

/** What a simulation returns. */
export interface SimulationResult {
  /** Counts by classical bit string, Qiskit's order (registers last-declared first, bit 0 rightmost). */
  readonly counts: Record<string, number>;
  readonly shots: number;
  /** 'sampled': one pass then sampling; 'per-shot': branching simulation. */
  readonly method: 'sampled' | 'per-shot';
  readonly durationMs: number;
  /** Of durationMs, the time spent drawing shots from the final state (sampled method). */
  readonly samplingMs?: number;
  /** Passes over the state the gates took after fusion (per shot for per-shot simulation). */
  readonly passes: number;
  /** Threads that applied the passes. */
  readonly threads: number;
  /** Why the slower per-shot method was needed, when it was. */
  readonly note?: string;
}

const DEFAULT_PARALLEL_MIN_WORK = 2 ** 26;

function checkMemory(circuit: Circuit, maxMemoryBytes: number | undefined, precision: Precision): void {
  const error = memoryShortfall(circuit.numQubits, { maxMemoryBytes, precision }, circuit.primitiveCount);
  if (error) throw error;
}

/** Simulates a circuit and samples `shots` outcomes. */
export async function simulate(circuit: Circuit, options: SimulateOptions): Promise<SimulationResult> {
  const precision = options.precision ?? 'double';
  checkMemory(circuit, options.maxMemoryBytes, precision);
  options.signal?.throwIfAborted();
  const started = performance.now();
  const random = seededRandom(options.seed ?? Math.floor(Math.random() * 2 ** 52));
  const p = measurementPlan(circuit);
  const reason = perShotReason(p.operations);
  if (reason === undefined) {
    const final = await finalState(p, options);
    const sampling = performance.now();
    const counts = sampleTerminal(final, p, options.shots, random);
    const now = performance.now();
    return {
      counts,
      shots: options.shots,
      method: 'sampled',
      durationMs: now - started,
      samplingMs: now - sampling,
      passes: final.passes,
      threads: final.threads,
    };
  }
  const steps = compileSteps(p.operations, options.fusionWidth ?? DEFAULT_FUSION_WIDTH);
  const counts = samplePerShot(p, steps, options.shots, random, precision);
  const durationMs = performance.now() - started;
  return {
    counts,
    shots: options.shots,
    method: 'per-shot',
    durationMs,
    passes: countPasses(steps),
    threads: 1,
    note: `simulated shot by shot because of ${reason}; took ${durationMs.toFixed(1)} ms`,
  };
}

/** The final state of a measurement-terminal circuit and which qubit each classical bit reads. */
interface FinalState {
  readonly amplitudes: StateVector['amplitudes'];
  readonly clbitQubit: Int32Array;
  readonly passes: number;
  readonly threads: number;
}

/** Runs the gates of a measurement-terminal circuit, fused, on as many threads as pay. */
async function finalState(
  p: MeasurementPlan,
  settings: EngineSettings & { readonly signal?: AbortSignal },
): Promise<FinalState> {
  const n = p.circuit.numQubits;
  const clbitQubit = new Int32Array(p.numClbits).fill(-1);
  const gates = [];
  for (const op of p.operations) {
    if (op.kind === 'gate') for (const part of op.parts) gates.push(part);
    else if (op.kind === 'measure' && op.clbit >= 0) clbitQubit[op.clbit] = op.qubit;
  }
  const ops = fuseGates(gates, settings.fusionWidth ?? DEFAULT_FUSION_WIDTH);
  const threads = Math.max(1, Math.floor(settings.threads ?? cpuQuota()));
  const work = ops.length * 2 ** n;
  const parallel =
    (threads > 1 || settings.signal !== undefined) &&
    work >= (settings.parallelMinWork ?? DEFAULT_PARALLEL_MIN_WORK) &&
    canRunParallel();
  const state = allocateState(n, settings.precision ?? 'double', parallel ? threads : 1, settings.kernels ?? 'simd');
  if (parallel) await runPassesParallel(state, n, ops, threads, settings.signal);
  else runPasses(state, n, ops);
  return { amplitudes: state.amplitudes, clbitQubit, passes: ops.length, threads: parallel ? threads : 1 };
}

/** The amplitudes of the final state, for tests and tools that compare simulators. */
export async function finalAmplitudes(
  circuit: Circuit,
  settings: EngineSettings = {},
): Promise<StateVector['amplitudes']> {
  return (await finalState(measurementPlan(circuit), settings)).amplitudes;
}

/** The classical bits that basis state `index` gives. */
function bitsOf(index: number, clbitQubit: Int32Array, bits: Uint8Array): Uint8Array {
  for (let c = 0; c < bits.length; c++) {
    const q = clbitQubit[c] as number;
    bits[c] = q >= 0 ? (index >>> q) & 1 : 0;
  }
  return bits;
}

/**
 * Draws `shots` basis states from the final state in two passes and no extra memory:
 * the uniform draws are sorted, then one walk over the cumulative probability assigns
 * each draw its basis state (O(2^n + shots·log shots)).
 */
function sampleTerminal(final: FinalState, p: MeasurementPlan, shots: number, random: Random): Record<string, number> {
  const a = final.amplitudes;
  let total = 0;
  for (let i = 0; i < a.length; i++) total += (a[i] as number) ** 2;
  const draws = new Float64Array(shots);
  for (let s = 0; s < shots; s++) draws[s] = random() * total;
  draws.sort();
  const byIndex = new Map<number, number>();
  let cumulative = 0;
  let next = 0;
  let last = 0;
  for (let i = 0; 2 * i < a.length && next < shots; i++) {
    const probability = (a[2 * i] as number) ** 2 + (a[2 * i + 1] as number) ** 2;
    if (probability === 0) continue;
    last = i;
    cumulative += probability;
    let hits = 0;
    while (next < shots && (draws[next] as number) < cumulative) {
      next++;
      hits++;
    }
    if (hits > 0) byIndex.set(i, hits);
  }
  // Rounding can leave the last draws just above the running sum: they belong to the last state.
  if (next < shots) byIndex.set(last, (byIndex.get(last) ?? 0) + shots - next);
  const counts: Record<string, number> = {};
  const bits = new Uint8Array(p.numClbits);
  for (const [index, hits] of [...byIndex].sort(([x], [y]) => x - y)) {
    const key = bitString(bitsOf(index, final.clbitQubit, bits), p.registers);
    counts[key] = (counts[key] ?? 0) + hits;
  }
  return counts;
}

/** The probability of every outcome of the measured bits, from the final state. */
function terminalDistribution(final: FinalState, p: MeasurementPlan): Map<string, number> {
  const a = final.amplitudes;
  let mask = 0;
  for (const q of final.clbitQubit) if (q >= 0) mask |= 1 << q;
  const byOutcome = new Map<number, number>();
  for (let i = 0; 2 * i < a.length; i++) {
    const probability = (a[2 * i] as number) ** 2 + (a[2 * i + 1] as number) ** 2;
    if (probability === 0) continue;
    // Basis states that agree on the measured qubits give the same outcome.
    const outcome = i & mask;
    byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + probability);
  }
  const bits = new Uint8Array(p.numClbits);
  const result = new Map<string, number>();
  for (const [outcome, probability] of byOutcome) {
    const key = bitString(bitsOf(outcome, final.clbitQubit, bits), p.registers);
    result.set(key, (result.get(key) ?? 0) + probability);
  }
  return result;
}

function evaluate(expr: ClassicalExpr, bits: Uint8Array): number {
  if (needsExact(expr)) return Number(evaluateExact(expr, bits));
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

const exactness = new WeakMap<ClassicalExpr, boolean>();

/** Whether a condition holds integers a double cannot: registers over 53 bits, or literals past 2^53. */
function needsExact(expr: ClassicalExpr): boolean {
  let known = exactness.get(expr);
  if (known === undefined) {
    known =
      expr.kind === 'bits'
        ? expr.bits.length > 53
        : expr.kind === 'const'
          ? expr.exact !== undefined
          : expr.kind === 'unary'
            ? needsExact(expr.operand)
            : needsExact(expr.left) || needsExact(expr.right);
    exactness.set(expr, known);
  }
  return known;
}

/** A condition in integers of any width (bigint): comparisons and bit operations exact. */
function evaluateExact(expr: ClassicalExpr, bits: Uint8Array): bigint {
  switch (expr.kind) {
    case 'const':
      return expr.exact !== undefined ? BigInt(expr.exact) : BigInt(Math.trunc(expr.value));
    case 'bits': {
      let value = 0n;
      for (let j = expr.bits.length - 1; j >= 0; j--)
        value = (value << 1n) | (bits[expr.bits[j] as number] === 1 ? 1n : 0n);
      return value;
    }
    case 'unary': {
      const v = evaluateExact(expr.operand, bits);
      return expr.op === '-' ? -v : expr.op === '!' ? BigInt(v === 0n) : ~v;
    }
    case 'binary': {
      const a = evaluateExact(expr.left, bits);
      const b = evaluateExact(expr.right, bits);
      const exactOps: Record<string, () => bigint | boolean> = {
        '+': () => a + b,
        '-': () => a - b,
        '*': () => a * b,
        '/': () => (b === 0n ? 0n : a / b),
        '%': () => (b === 0n ? 0n : a % b),
        '==': () => a === b,
        '!=': () => a !== b,
        '<': () => a < b,
        '<=': () => a <= b,
        '>': () => a > b,
        '>=': () => a >= b,
        '&&': () => a !== 0n && b !== 0n,
        '||': () => a !== 0n || b !== 0n,
        '&': () => a & b,
        '|': () => a | b,
        '^': () => a ^ b,
        '<<': () => a << b,
        '>>': () => a >> b,
      };
      const result = Object.hasOwn(exactOps, expr.op) ? (exactOps[expr.op] as () => bigint | boolean)() : 0n;
      return typeof result === 'boolean' ? BigInt(result) : result;
    }
  }
}

/** A source of measurement outcomes: random for sampling, or a forced branch for exact probabilities. */
type Chooser = (probabilityOfOne: number) => 0 | 1;

/** The operations with each run of gates fused into passes, ready to run many times. */
type Step =
  | { readonly kind: 'passes'; readonly ops: readonly KernelOp[] }
  | { readonly kind: 'measure'; readonly qubit: number; readonly clbit: number }
  | { readonly kind: 'reset'; readonly qubit: number }
  | { readonly kind: 'if'; readonly condition: ClassicalExpr; readonly then: Step[]; readonly otherwise: Step[] };

function compileSteps(operations: readonly Operation[], fusionWidth: number): Step[] {
  const steps: Step[] = [];
  let gates: Extract<Operation, { kind: 'gate' }>['parts'][number][] = [];
  const flush = () => {
    if (gates.length > 0) steps.push({ kind: 'passes', ops: fuseGates(gates, fusionWidth) });
    gates = [];
  };
  for (const op of operations) {
    switch (op.kind) {
      case 'gate':
        for (const part of op.parts) gates.push(part);
        break;
      case 'barrier':
        break;
      case 'if':
        flush();
        steps.push({
          kind: 'if',
          condition: op.condition,
          then: compileSteps(op.then, fusionWidth),
          otherwise: compileSteps(op.otherwise, fusionWidth),
        });
        break;
      default:
        flush();
        steps.push(op);
    }
  }
  flush();
  return steps;
}

function countPasses(steps: readonly Step[]): number {
  let passes = 0;
  for (const step of steps) {
    if (step.kind === 'passes') passes += step.ops.length;
    else if (step.kind === 'if') passes += Math.max(countPasses(step.then), countPasses(step.otherwise));
  }
  return passes;
}

function execute(steps: readonly Step[], state: StateVector, bits: Uint8Array, choose: Chooser): void {
  for (const step of steps) {
    switch (step.kind) {
      case 'passes':
        runPasses(state, state.numQubits, step.ops);
        break;
      case 'measure': {
        const p1 = probabilityOfOne(state, step.qubit);
        const outcome = choose(p1);
        collapse(state, step.qubit, outcome, outcome === 1 ? p1 : 1 - p1);
        if (step.clbit >= 0) bits[step.clbit] = outcome;
        break;
      }
      case 'reset': {
        const p1 = probabilityOfOne(state, step.qubit);
        const outcome = choose(p1);
        collapse(state, step.qubit, outcome, outcome === 1 ? p1 : 1 - p1);
        if (outcome === 1) flip(state, step.qubit);
        break;
      }
      case 'if':
        execute(evaluate(step.condition, bits) ? step.then : step.otherwise, state, bits, choose);
        break;
    }
  }
}

function emptyState(numQubits: number, precision: Precision): StateVector {
  return { numQubits, amplitudes: zeroAmplitudes(numQubits, precision, false) };
}

function samplePerShot(
  p: MeasurementPlan,
  steps: readonly Step[],
  shots: number,
  random: Random,
  precision: Precision,
): Record<string, number> {
  // The gates before the first measurement, reset or condition are the same for every shot.
  const split = steps.findIndex((step) => step.kind !== 'passes');
  const prefix = split < 0 ? steps : steps.slice(0, split);
  const rest = split < 0 ? [] : steps.slice(split);
  const shared = emptyState(p.circuit.numQubits, precision);
  execute(prefix, shared, new Uint8Array(p.numClbits), () => 0);
  const counts: Record<string, number> = {};
  const choose: Chooser = (p1) => (random() < p1 ? 1 : 0);
  for (let s = 0; s < shots; s++) {
    const state = { numQubits: shared.numQubits, amplitudes: shared.amplitudes.slice() };
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
export async function exactProbabilities(
  circuit: Circuit,
  options: EngineSettings & { maxMemoryBytes?: number; maxBranches?: number } = {},
): Promise<Record<string, number>> {
  const precision = options.precision ?? 'double';
  checkMemory(circuit, options.maxMemoryBytes, precision);
  const p = measurementPlan(circuit);
  const result: Record<string, number> = {};
  if (perShotReason(p.operations) === undefined) {
    for (const [key, prob] of terminalDistribution(await finalState(p, options), p)) {
      if (prob >= PROBABILITY_FLOOR) result[key] = prob;
    }
    return sortKeys(result);
  }
  const steps = compileSteps(p.operations, options.fusionWidth ?? DEFAULT_FUSION_WIDTH);
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
    const state = emptyState(circuit.numQubits, precision);
    const bits = new Uint8Array(p.numClbits);
    execute(steps, state, bits, (p1) => {
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
