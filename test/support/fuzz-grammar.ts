/**
 * A grammar-aware generator of OpenQASM 3 programs that composes the risky constructs —
 * modifiers over definitions (inv, pow with huge exponents, ctrl), definitions calling
 * definitions, nested loops, measurements, resets and barriers in loops, conditionals, long
 * operator chains — and the property every generated program must hold under low limits (the
 * cost oracle): refused with an InvalidInputError in bounded time, or compiled within the
 * limits it was promised (gates, operations) and simulated in bounded time.
 */
import fc from 'fast-check';
import { InvalidInputError } from '../../shared/errors.ts';
import { compileQasm } from '../../shared/qasm/index.ts';
import type { Operation } from '../../shared/qasm/circuit.ts';
import { DEFAULT_LIMITS } from '../../shared/qasm/limits.ts';
import { simulate } from '../../shared/simulator/run.ts';

/** Limits set low, so every accepted program is cheap to run and every costly one must be refused. */
export const LOW_LIMITS = {
  ...DEFAULT_LIMITS,
  maxGates: 20_000,
  maxOperations: 20_000,
  maxLoopIterations: 50_000,
  maxNesting: 24,
};

/** The slowest a check (refusal or acceptance) may take, and a run of an accepted program. */
export const MAX_CHECK_MS = 2000;
export const MAX_RUN_MS = 3000;

const ONE_QUBIT = ['h', 'x', 's', 't', 'sdg'] as const;
const ROTATIONS = ['rx', 'ry', 'rz'] as const;
const EXPONENTS = ['2', '3', '-1', '1000', '2**20', '2**31 + 2', '4294967298', '2**62'] as const;
/** Mostly loops a program can afford; sometimes ones only the limits stop. */
const loopSize = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(1, 3, 10, 300) },
  { weight: 1, arbitrary: fc.constantFrom(5_000, 100_000, 10_000_000) },
);

const modifier = fc.constantFrom('inv @ ', 'ctrl @ ', ...EXPONENTS.map((k) => `pow(${k}) @ `));
/** A chain of `terms` terms: long ones must be refused by the nesting limit, not the stack. */
const angle = fc
  .tuple(
    fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 1, max: 6 }) },
      { weight: 1, arbitrary: fc.integer({ min: 7, max: 80 }) },
    ),
    fc.constantFrom('+', '-', '*'),
  )
  .map(([terms, op]) => Array.from({ length: terms }, (_, i) => (i === 0 ? 'pi/7' : '1.01')).join(` ${op} `));

/** A call of a one-qubit gate, a rotation, cx, or a defined gate, with up to three modifiers. */
function call(definitions: number, qubits: string[]): fc.Arbitrary<string> {
  const distinct = fc.shuffledSubarray(qubits, { minLength: 3, maxLength: 3 });
  const named = fc.oneof(
    fc.constantFrom(...ONE_QUBIT).map((g) => ({ name: g, arity: 1, params: '' })),
    fc.tuple(fc.constantFrom(...ROTATIONS), angle).map(([g, a]) => ({ name: g, arity: 1, params: `(${a})` })),
    fc.constant({ name: 'cx', arity: 2, params: '' }),
    ...(definitions > 0
      ? [fc.integer({ min: 0, max: definitions - 1 }).map((i) => ({ name: `g${i}`, arity: 2, params: '' }))]
      : []),
  );
  return fc.tuple(fc.array(modifier, { maxLength: 3 }), named, distinct).map(([mods, gate, [a, b, c]]) => {
    const controls = mods.filter((m) => m.startsWith('ctrl')).length;
    const operands = [a, b, c].slice(0, gate.arity + controls);
    // More controls than the register has distinct qubits: drop the modifiers rather than emit nonsense.
    return operands.length === gate.arity + controls && operands.every(Boolean)
      ? `${mods.join('')}${gate.name}${gate.params} ${operands.join(', ')};`
      : `${gate.name}${gate.params} ${[a, b].slice(0, gate.arity).join(', ')};`;
  });
}

/** A gate definition on two qubits whose body calls the gates defined before it, maybe in a loop. */
function definition(index: number): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(call(index, ['a', 'b', 'a']), { minLength: 1, maxLength: 4 }), loopSize, fc.boolean())
    .map(([calls, size, looped]) => {
      const body = calls.map((c) => c.replace(/, a;$/, ';').replace(/(\w+) a, a/, '$1 a, b')).join(' ');
      return `gate g${index} a, b { ${looped ? `for int i in [0:${size - 1}] { ${body} }` : body} }`;
    });
}

/** Statements of the program's body, nesting loops and conditionals up to `depth`. */
function statements(definitions: number, depth: number): fc.Arbitrary<string[]> {
  const qubits = ['q[0]', 'q[1]', 'q[2]', 'q[3]'];
  const simple = fc.oneof(
    { weight: 4, arbitrary: call(definitions, qubits) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((i) => `c[${i}] = measure q[${i}];`) },
    { weight: 1, arbitrary: fc.constant('c = measure q;') },
    { weight: 1, arbitrary: fc.constantFrom('reset q;', 'reset q[1];', 'barrier;', 'barrier q;') },
  );
  if (depth === 0) return fc.array(simple, { minLength: 1, maxLength: 4 });
  const nested = fc.oneof(
    { weight: 3, arbitrary: simple },
    {
      weight: 2,
      arbitrary: fc
        .tuple(loopSize, statements(definitions, depth - 1))
        .map(([size, body]) => `for int i${depth} in [0:${size - 1}] { ${body.join(' ')} }`),
    },
    {
      weight: 1,
      arbitrary: statements(definitions, depth - 1).map((body) => `if (c[0] == 1) { ${body.join(' ')} }`),
    },
  );
  return fc.array(nested, { minLength: 1, maxLength: 5 });
}

/** Whole programs: four qubits, four bits, up to four definitions, a body three levels deep. */
export const generatedProgram: fc.Arbitrary<string> = fc
  .integer({ min: 0, max: 4 })
  .chain((count) =>
    fc
      .tuple(fc.tuple(...Array.from({ length: count }, (_, i) => definition(i))), statements(count, 3))
      .map(
        ([definitions, body]) =>
          `OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[4] q;\nbit[4] c;\n${definitions.join('\n')}\n${body.join('\n')}\n`,
      ),
  );

/** Measurements, resets, barriers and conditionals, each counted per qubit, as the limit counts them. */
function operationCost(operations: readonly Operation[]): number {
  let cost = 0;
  for (const op of operations) {
    if (op.kind === 'measure' || op.kind === 'reset') cost += 1;
    else if (op.kind === 'barrier') cost += op.qubits.length;
    else if (op.kind === 'if') cost += 1 + operationCost(op.then) + operationCost(op.otherwise);
  }
  return cost;
}

/** What the fuzzer saw: inputs, refusals and the slowest of each, for `npm run fuzz`'s report. */
export const generatedStats = { inputs: 0, refused: 0, slowestRefusalMs: 0, slowestAcceptedMs: 0 };

/** The cost oracle's property of one generated program. */
export function generatedHolds(source: string): void {
  generatedStats.inputs++;
  const started = performance.now();
  let compiled: ReturnType<typeof compileQasm>;
  try {
    compiled = compileQasm(source, { limits: LOW_LIMITS });
  } catch (error) {
    if (!(error instanceof InvalidInputError)) {
      throw new Error(`threw ${(error as Error).name}: ${(error as Error).message}`, { cause: error });
    }
    const ms = performance.now() - started;
    generatedStats.refused++;
    generatedStats.slowestRefusalMs = Math.max(generatedStats.slowestRefusalMs, ms);
    if (ms > MAX_CHECK_MS) throw new Error(`refused only after ${Math.round(ms)} ms: ${error.message.split('\n')[0]}`);
    return;
  }
  const checkedMs = performance.now() - started;
  if (checkedMs > MAX_CHECK_MS) throw new Error(`accepted after ${Math.round(checkedMs)} ms`);
  const { circuit } = compiled;
  if (circuit.primitiveCount > LOW_LIMITS.maxGates) {
    throw new Error(`accepted ${circuit.primitiveCount} gates past the limit of ${LOW_LIMITS.maxGates}`);
  }
  const operations = operationCost(circuit.operations);
  if (operations > LOW_LIMITS.maxOperations) {
    throw new Error(`accepted ${operations} operations past the limit of ${LOW_LIMITS.maxOperations}`);
  }
  generatedStats.slowestAcceptedMs = Math.max(generatedStats.slowestAcceptedMs, checkedMs);
}

/** What was promised of an accepted program: it runs, in bounded time. */
export async function generatedRuns(source: string): Promise<void> {
  let circuit;
  try {
    circuit = compileQasm(source, { limits: LOW_LIMITS }).circuit;
  } catch {
    return;
  }
  const started = performance.now();
  await simulate(circuit, { shots: 4, seed: 1, threads: 1, maxMemoryBytes: 64 * 1024 * 1024 });
  const ms = performance.now() - started;
  if (ms > MAX_RUN_MS) throw new Error(`an accepted program ran for ${Math.round(ms)} ms`);
}
