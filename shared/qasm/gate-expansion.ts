/**
 * Gate expansion: a call (with its inv, pow, ctrl and negctrl modifiers) of a standard gate
 * or of a gate the program defines becomes primitive unitaries, built lazily for standard
 * gates so checking a large circuit allocates no matrices.
 */
import type { Expr, GateCall, Modifier, Statement } from './ast.ts';
import type { Primitive } from './circuit.ts';
import { QasmLimitError, type SourcePosition } from './errors.ts';
import { definitionCost } from './gate-cost.ts';
import { type BuiltinGate, builtinGate } from './gates.ts';
import { adjoint, blockUnitary, type Matrix, power } from './matrix.ts';
import type { GateContext, GateDefinition, Variable } from './elaboration-scope.ts';
import { OperandElaborator } from './operands.ts';

const NO_CONTROLS: readonly number[] = Object.freeze([]);

/** |k| as a bigint, for an integer exponent (a fractional one counts as its integer part). */
function magnitude(k: number | bigint): bigint {
  const big = typeof k === 'bigint' ? k : BigInt(Math.trunc(k));
  return big < 0n ? -big : big;
}

/** Widest body `pow(k) @` multiplies out (a 32 x 32 unitary); wider ones are repeated, and counted first. */
const POW_FUSE_MAX_QUBITS = 5;

/**
 * A built-in gate application whose matrix is computed only when something asks for it:
 * validation never does, so checking a large circuit allocates no matrices.
 */
class BuiltinPrimitive implements Primitive {
  private computed: Matrix | undefined;

  constructor(
    readonly name: string,
    readonly targets: readonly number[],
    readonly controls: readonly number[],
    private readonly gate: BuiltinGate,
    private readonly params: readonly number[],
  ) {}

  get matrix(): Matrix {
    this.computed ??= this.gate.matrix(this.params);
    return this.computed;
  }
}

export const NO_PARAMS: readonly number[] = Object.freeze([]);

/**
 * A gate application. Every gate operation has this one shape (so code walking circuits
 * stays monomorphic); a standard gate without modifiers builds its primitive only when a
 * simulator asks for it.
 */
export class GateOperation {
  readonly kind = 'gate';
  /** A standard gate without modifiers: its name and parameters say everything it does. */
  readonly standard: boolean;
  private expanded: readonly Primitive[] | undefined;

  constructor(
    readonly name: string,
    readonly params: readonly number[],
    readonly qubits: readonly number[],
    private readonly gate: BuiltinGate | undefined,
    parts: readonly Primitive[] | undefined,
  ) {
    this.expanded = parts;
    this.standard = parts === undefined;
  }

  get parts(): readonly Primitive[] {
    if (!this.expanded) {
      const gate = this.gate as BuiltinGate;
      const controls = gate.controls === 0 ? NO_CONTROLS : this.qubits.slice(0, gate.controls);
      const targets = gate.controls === 0 ? this.qubits : this.qubits.slice(gate.controls);
      this.expanded = [new BuiltinPrimitive(this.name, targets, controls, gate, this.params)];
    }
    return this.expanded;
  }
}

/** A primitive with some fields replaced (a plain object, so the matrix is computed now). */
function derive(part: Primitive, changes: Partial<Primitive>): Primitive {
  return { name: part.name, targets: part.targets, controls: part.controls, matrix: part.matrix, ...changes };
}

/** The gate-expansion part of the elaborator. */
export abstract class GateElaborator extends OperandElaborator {
  protected readonly gates = new Map<string, GateDefinition>();
  /** Upper bounds of the primitives one application of each defined gate unrolls to, where known. */
  protected readonly gateCosts = new Map<string, number>();
  protected primitiveCount = 0;
  private gateDepth = 0;

  /** Runs a for loop's body once per value (statements' part; gate bodies loop too). */
  protected abstract loop(
    statement: Extract<Statement, { kind: 'for' }>,
    run: (body: readonly Statement[]) => void,
  ): void;

  protected defineGate(definition: GateDefinition): void {
    const cost = definition.body
      ? definitionCost(definition.body, (name) =>
          this.gates.has(name) ? this.gateCosts.get(name) : builtinGate(name) ? 1 : undefined,
        )
      : undefined;
    this.gates.set(definition.name, definition);
    if (cost === undefined) this.gateCosts.delete(definition.name);
    else this.gateCosts.set(definition.name, cost);
  }

  /**
   * The work of expanding gates, over the whole program, in gate-equivalents: every primitive
   * made or copied at any level of a definition (each `inv @` or `ctrl @` level copies what it
   * wraps) and every matrix product of a `pow(k) @`. Checked against maxGates as it grows, so
   * a program is refused by the work it takes before taking it, however its results shrink
   * (a body raised to a power becomes one gate, after all its copies were made).
   */
  private expansionWork = 0;

  private chargeWork(units: number, at: SourcePosition): void {
    this.expansionWork += units;
    if (this.expansionWork > this.limits.maxGates) {
      throw new QasmLimitError(
        'maxGates',
        `expanding the circuit's gates takes the work of more than ${this.limits.maxGates} gates (each level of a definition counts what it copies; pow(k) @ counts its matrix products)`,
        this.source,
        at,
      );
    }
  }

  /** Fails once `count` primitive gates exceed the limit. */
  protected checkGateCount(count: number, at: SourcePosition): void {
    if (count > this.limits.maxGates) {
      throw new QasmLimitError(
        'maxGates',
        `the circuit unrolls to more than ${this.limits.maxGates} gates`,
        this.source,
        at,
      );
    }
  }

  protected checkBuiltinCall(
    call: GateCall,
    builtin: BuiltinGate,
    paramCount: number,
    qubits: readonly number[],
  ): void {
    if (builtin.params !== paramCount) {
      this.fail(call.at, `gate ${call.name} takes ${builtin.params} parameters but was given ${paramCount}`);
    }
    const arity = builtin.controls + builtin.targets;
    if (qubits.length !== arity)
      this.fail(call.at, `gate ${call.name} needs ${arity} qubits but was given ${qubits.length}`);
    for (let i = 1; i < qubits.length; i++) {
      if (qubits.lastIndexOf(qubits[i - 1] as number) !== i - 1) {
        this.fail(call.at, `gate ${call.name} is applied to the same qubit twice`);
      }
    }
  }

  /** Expands one application (modifiers included) of a gate on single qubits into primitives. */
  protected expandCall(call: GateCall, params: readonly number[], qubits: readonly number[], out: Primitive[]): void {
    for (let i = 1; i < qubits.length; i++) {
      if (qubits.lastIndexOf(qubits[i - 1] as number) !== i - 1) {
        this.fail(call.at, `gate ${call.name} is applied to the same qubit twice`);
      }
    }
    if (call.modifiers.length === 0) {
      const arity = this.gateArity(call, params.length);
      if (qubits.length !== arity)
        this.fail(call.at, `gate ${call.name} needs ${arity} qubits but was given ${qubits.length}`);
      // Straight into `out`: a nest of definitions is unrolled once, not copied at every level.
      this.baseGate(call, params, qubits, out);
      return;
    }
    const modifiers = call.modifiers.map((m) => ({ modifier: m, count: this.modifierCount(m) }));
    const controlCount = modifiers.reduce(
      (sum, m) => sum + (m.modifier.kind === 'ctrl' || m.modifier.kind === 'negctrl' ? m.count : 0),
      0,
    );
    const arity = this.gateArity(call, params.length);
    if (qubits.length !== controlCount + arity) {
      this.fail(call.at, `gate ${call.name} needs ${controlCount + arity} qubits but was given ${qubits.length}`);
    }
    let parts = this.baseGate(call, params, qubits.slice(controlCount), []);
    let nextControl = controlCount;
    for (let m = modifiers.length - 1; m >= 0; m--) {
      const { modifier, count } = modifiers[m] as { modifier: Modifier; count: number };
      switch (modifier.kind) {
        case 'inv':
          parts = parts.reverse().map((p) => derive(p, { name: `inv(${p.name})`, matrix: adjoint(p.matrix) }));
          break;
        case 'pow':
          parts = this.raise(parts, this.number(modifier.arg as Expr, 'the pow exponent'), modifier.at);
          break;
        case 'ctrl':
        case 'negctrl': {
          const controls = qubits.slice(nextControl - count, nextControl);
          nextControl -= count;
          const flips = modifier.kind === 'negctrl' ? controls.map((q) => this.xGate(q)) : [];
          parts = [...flips, ...parts.map((p) => derive(p, { controls: [...controls, ...p.controls] })), ...flips];
          break;
        }
      }
    }
    this.chargeWork(parts.length, call.at);
    for (const part of parts) out.push(part);
  }

  private xGate(qubit: number): Primitive {
    const x = builtinGate('x');
    return { name: 'x', targets: [qubit], controls: [], matrix: (x as NonNullable<typeof x>).matrix([]) };
  }

  private modifierCount(modifier: Modifier): number {
    if (modifier.kind !== 'ctrl' && modifier.kind !== 'negctrl') return 0;
    return modifier.arg ? this.positiveInteger(modifier.arg, `the ${modifier.kind} count`) : 1;
  }

  private raise(parts: Primitive[], exponent: number | bigint, at: SourcePosition): Primitive[] {
    if (parts.length === 1) {
      const part = parts[0] as Primitive;
      const d = 2 ** (part.targets.length + part.controls.length);
      this.chargeWork(Math.ceil((2 * magnitude(exponent).toString(2).length * d ** 3) / 1024), at);
      const matrix = power(part.matrix, exponent);
      if (!matrix)
        this.unsupported(at, 'pow', `a fractional power of a ${part.targets.length}-qubit gate is not supported`);
      return [derive(part, { name: `pow(${exponent}, ${part.name})`, matrix })];
    }
    if (typeof exponent === 'number' && !Number.isInteger(exponent)) {
      this.unsupported(at, 'pow', 'a fractional power of a gate defined by a body is not supported');
    }
    const k = BigInt(exponent);
    const qubits = [...new Set(parts.flatMap((p) => [...p.targets, ...p.controls]))].sort((a, b) => a - b);
    if (qubits.length <= POW_FUSE_MAX_QUBITS) {
      // The body's unitary raised by squaring: any exponent in a few dozen products, never k copies;
      // the products are work, counted as the gates that would take as long.
      const d = 2 ** qubits.length;
      const products = 2 * magnitude(k).toString(2).length;
      this.chargeWork(Math.ceil((parts.length * d * d + products * d ** 3) / 1024), at);
      const matrix = power(blockUnitary(parts, qubits), k) as Matrix;
      return [{ name: `pow(${exponent}, body)`, targets: qubits, controls: [], matrix }];
    }
    // Too wide to multiply out: the copies are counted before any is made.
    const copies = k < 0n ? -k : k;
    if (copies * BigInt(parts.length) > BigInt(Math.max(0, this.limits.maxGates - this.expansionWork))) {
      throw new QasmLimitError(
        'maxGates',
        `pow(${exponent}) repeats a ${parts.length}-gate body on ${qubits.length} qubits ${copies} times; the circuit may unroll to at most ${this.limits.maxGates} gates`,
        this.source,
        at,
      );
    }
    const base = k < 0n ? [...parts].reverse().map((p) => derive(p, { matrix: adjoint(p.matrix) })) : parts;
    const result: Primitive[] = [];
    for (let i = 0n; i < copies; i++) for (const part of base) result.push(part);
    return result;
  }

  private gateArity(call: GateCall, paramCount: number): number {
    if (call.name === 'gphase') {
      if (paramCount !== 1) this.fail(call.at, `gphase takes 1 parameter but was given ${paramCount}`);
      return 0;
    }
    const defined = this.gates.get(call.name);
    if (defined) {
      if (defined.params.length !== paramCount) {
        this.fail(call.at, `gate ${call.name} takes ${defined.params.length} parameters but was given ${paramCount}`);
      }
      return defined.qubits.length;
    }
    const builtin = builtinGate(call.name);
    if (!builtin) {
      if (this.lookup(call.name) || this.bitRegisters.has(call.name) || this.qubitRegisters.has(call.name)) {
        this.fail(call.at, `"${call.name}" is a variable, not a gate`);
      }
      this.fail(
        call.at,
        `unknown gate "${call.name}": define it with "gate ${call.name} ... { ... }" or use a standard gate`,
      );
    }
    if (builtin.params !== paramCount) {
      this.fail(call.at, `gate ${call.name} takes ${builtin.params} parameters but was given ${paramCount}`);
    }
    return builtin.controls + builtin.targets;
  }

  /** Appends the primitives of one application without modifiers to `out`, and returns `out`. */
  private baseGate(
    call: GateCall,
    params: readonly number[],
    qubits: readonly number[],
    out: Primitive[],
  ): Primitive[] {
    if (call.name === 'gphase') {
      const theta = params[0] as number;
      out.push({
        name: 'gphase',
        targets: [],
        controls: [],
        matrix: new Float64Array([Math.cos(theta), Math.sin(theta)]),
      });
      return out;
    }
    const defined = this.gates.get(call.name);
    if (defined) return this.expandDefinition(call, defined, params, qubits, out);
    const builtin = builtinGate(call.name) as NonNullable<ReturnType<typeof builtinGate>>;
    const controls = builtin.controls === 0 ? NO_CONTROLS : qubits.slice(0, builtin.controls);
    const targets = builtin.controls === 0 ? qubits : qubits.slice(builtin.controls);
    this.chargeWork(1, call.at);
    out.push(new BuiltinPrimitive(call.name, targets, controls, builtin, params));
    return out;
  }

  private expandDefinition(
    call: GateCall,
    definition: GateDefinition,
    params: readonly number[],
    qubits: readonly number[],
    out: Primitive[],
  ): Primitive[] {
    if (!definition.body)
      this.unsupported(call.at, 'opaque', `gate ${call.name} is opaque: it has no definition to simulate`);
    const cost = this.gateCosts.get(call.name);
    if (cost !== undefined && cost > this.limits.maxGates - this.primitiveCount) {
      throw new QasmLimitError(
        'maxGates',
        `gate ${call.name} unrolls to ${cost > 1e15 ? `about ${cost.toExponential(1)}` : cost} gates; the circuit may unroll to at most ${this.limits.maxGates}`,
        this.source,
        call.at,
      );
    }
    if (++this.gateDepth > this.limits.maxNesting) {
      throw new QasmLimitError(
        'maxNesting',
        `gate definitions nest deeper than ${this.limits.maxNesting}`,
        this.source,
        call.at,
      );
    }
    const scope = new Map<string, Variable>(
      definition.params.map((name, i) => [name, { value: params[i] as number, type: 'float', isConst: true }]),
    );
    const context: GateContext = {
      qubits: new Map(definition.qubits.map((name, i) => [name, qubits[i] as number])),
      out,
    };
    // A gate body sees only its own parameters and the global constants.
    const saved = this.scopes.splice(1);
    this.scopes.push(scope);
    const savedContext = this.context;
    this.context = context;
    try {
      this.gateBody(definition.body, context);
    } finally {
      this.context = savedContext;
      this.scopes.pop();
      this.scopes.push(...saved);
      this.gateDepth--;
    }
    return context.out;
  }

  private gateBody(body: readonly Statement[], context: GateContext): void {
    for (const statement of body) {
      if (statement.kind === 'gateCall') {
        const params = statement.params.map((p) => this.number(p, `a parameter of ${statement.name}`));
        const qubits = statement.operands.map((operand) => {
          const resolved = this.qubits(operand);
          if (resolved.length !== 1) this.fail(operand.at, 'inside a gate, operands are single qubit arguments');
          return resolved[0] as number;
        });
        this.expandCall(statement, params, qubits, context.out);
        this.checkGateCount(context.out.length, statement.at);
      } else if (statement.kind === 'for') {
        this.loop(statement, (inner) => this.gateBody(inner, context));
      }
      // Barriers and pragmas inside a gate body do not change its unitary.
    }
  }
}
