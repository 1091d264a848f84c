/** The OpenQASM front end: source text in, a checked and unrolled circuit plus its facts out. */
import { InvalidInputError } from '../errors.ts';
import type { CircuitMetadata } from '../resources/schema.ts';
import { CircuitAnalyzer } from './analyze.ts';
import type { Circuit, Operation } from './circuit.ts';
import { type CircuitHeader, elaborate } from './elaborate.ts';
import { type CircuitLimits, DEFAULT_LIMITS } from './limits.ts';
import { QasmLimitError } from './errors.ts';
import { LIBRARY_DEFINITIONS } from './gates.ts';
import { parseQasm, streamQasm } from './parser.ts';

export type { Circuit, ClassicalExpr, ClassicalRegister, Operation, Primitive } from './circuit.ts';
export { type CircuitLimits, DEFAULT_LIMITS } from './limits.ts';
export { QasmLimitError, QasmSyntaxError, QasmUnsupportedError } from './errors.ts';

/** Options of compileQasm. */
export interface CompileOptions {
  readonly limits?: Partial<CircuitLimits>;
  /** Values of `input` parameters. */
  readonly inputs?: Readonly<Record<string, number>>;
  /** The declared format; a mismatch with the version line is an error. */
  readonly format?: 'qasm2' | 'qasm3';
  /** Reads every statement with the general parser; for tests comparing it with the fast path. */
  readonly generalParserOnly?: boolean;
}

/** A compiled circuit and what validation learned about it. */
export interface CompiledCircuit {
  readonly circuit: Circuit;
  readonly metadata: CircuitMetadata;
}

/** Circuit code that is Python (QiskitOperator's format) rather than OpenQASM. */
export class PythonCircuitError extends InvalidInputError {
  constructor() {
    super(
      'circuit',
      'this looks like Python (Qiskit) code, but qpipe runs OpenQASM. Export the circuit with ' +
        '`from qiskit import qasm3; print(qasm3.dumps(qc))` (or qasm2.dumps) and put that text in the job',
    );
  }
}

// Unmistakably Python: imports and Qiskit's circuit constructor never appear in OpenQASM.
const PYTHON_HINTS = /^\s*(from\s+[\w.]+\s+import\b|import\s+[\w.]+\s*(as\s+\w+\s*)?$)|\bQuantumCircuit\s*\(/m;

let library: ReturnType<typeof parseQasm> | undefined;

/** Checks the source and streams its operations to `sink`; the analyzer sees each one. */
function run(source: string, options: CompileOptions, analyzer: CircuitAnalyzer, keep?: Operation[]): CircuitHeader {
  const limits: CircuitLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const bytes = Buffer.byteLength(source, 'utf8');
  if (bytes > limits.maxBytes) {
    throw new QasmLimitError('maxBytes', `the circuit is ${bytes} bytes; the limit is ${limits.maxBytes}`);
  }
  if (PYTHON_HINTS.test(source) && !/^\s*OPENQASM\b/m.test(source)) throw new PythonCircuitError();
  const program = streamQasm(source, { maxNesting: limits.maxNesting, simpleGates: !options.generalParserOnly });
  const detected = program.version === 2 ? 'qasm2' : 'qasm3';
  if (options.format && program.declaredVersion && options.format !== detected) {
    throw new InvalidInputError(
      'circuit.format',
      `the job says ${options.format} but the program declares ${detected === 'qasm2' ? 'OPENQASM 2.0' : 'OPENQASM 3'}`,
    );
  }
  library ??= parseQasm(LIBRARY_DEFINITIONS);
  const sink = keep
    ? {
        push(op: Operation) {
          keep.push(op);
          analyzer.push(op);
        },
      }
    : analyzer;
  return elaborate(source, program, library, limits, sink, options.inputs);
}

/** Parses, checks and unrolls OpenQASM 2 or 3 source. Errors carry line:column. */
export function compileQasm(source: string, options: CompileOptions = {}): CompiledCircuit {
  const analyzer = new CircuitAnalyzer();
  const operations: Operation[] = [];
  const header = run(source, options, analyzer, operations);
  const circuit: Circuit = { ...header, operations };
  return { circuit, metadata: analyzer.result(circuit) };
}

/**
 * Whether a program may take a while to unroll (loops, definitions, modifiers) or is long:
 * such programs are checked and simulated off the thread that answers requests. Plain gate
 * lists, most circuits, take microseconds and are handled where they are.
 */
export function mayTakeAWhile(source: string): boolean {
  return source.length > 4096 || /\b(for|while|gate|pow|inv|ctrl|negctrl)\b/.test(source);
}

/**
 * Checks OpenQASM source and returns its metadata without keeping the unrolled circuit,
 * so validating a large circuit needs little memory beyond the source.
 */
export function analyzeQasm(source: string, options: CompileOptions = {}): CircuitMetadata {
  const analyzer = new CircuitAnalyzer();
  return analyzer.result(run(source, options, analyzer));
}
