/**
 * Unrolls a parsed program into a flat circuit: loops run, constants fold, gate
 * definitions and modifiers expand into primitive unitaries, registers broadcast. Only
 * conditions on measured bits stay symbolic (as `if` operations the simulator evaluates
 * per shot).
 */
import type { Expr, GateCall, IndexItem, Modifier, Operand, Program, SimpleGateCall, Statement } from './ast.ts';
import { parseStatementAt, type StatementStream } from './parser.ts';
import type { Circuit, ClassicalExpr, ClassicalRegister, Operation, Primitive } from './circuit.ts';
import { definitionCost } from './gate-cost.ts';
import { QasmLimitError, QasmSyntaxError, QasmUnsupportedError, type SourcePosition } from './errors.ts';
import { type BuiltinGate, builtinGate } from './gates.ts';
import { adjoint, type Matrix, power } from './matrix.ts';
import { applyBinary } from './operators.ts';
import type { CircuitLimits } from './limits.ts';

const NO_CONTROLS: readonly number[] = Object.freeze([]);

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

const NO_PARAMS: readonly number[] = Object.freeze([]);

/**
 * A gate application. Every gate operation has this one shape (so code walking circuits
 * stays monomorphic); a standard gate without modifiers builds its primitive only when a
 * simulator asks for it.
 */
class GateOperation {
  readonly kind = 'gate';
  private expanded: readonly Primitive[] | undefined;

  constructor(
    readonly name: string,
    readonly params: readonly number[],
    readonly qubits: readonly number[],
    private readonly gate: BuiltinGate | undefined,
    parts: readonly Primitive[] | undefined,
  ) {
    this.expanded = parts;
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

/** A value known only at run time (it depends on measured bits). */
class Runtime {
  constructor(readonly expr: ClassicalExpr) {}
}
type Value = number | boolean | Runtime;

interface Variable {
  value: number | boolean;
  readonly type: string;
  readonly isConst: boolean;
}

interface GateDefinition {
  readonly name: string;
  readonly params: readonly string[];
  readonly qubits: readonly string[];
  readonly body: readonly Statement[] | undefined;
}

interface Register {
  readonly offset: number;
  readonly size: number;
}

/** Where names of gate arguments point while a definition's body is expanded. */
interface GateContext {
  readonly qubits: ReadonlyMap<string, number>;
  readonly out: Primitive[];
}

const CONSTANTS: Record<string, number> = {
  pi: Math.PI,
  π: Math.PI,
  tau: 2 * Math.PI,
  τ: 2 * Math.PI,
  euler: Math.E,
  ℯ: Math.E,
};

const FUNCTIONS: Record<string, (...args: number[]) => number> = {
  sin: Math.sin,
  cos: Math.cos,
  tan: Math.tan,
  arcsin: Math.asin,
  arccos: Math.acos,
  arctan: Math.atan,
  asin: Math.asin,
  acos: Math.acos,
  atan: Math.atan,
  exp: Math.exp,
  ln: Math.log,
  log: Math.log,
  sqrt: Math.sqrt,
  abs: Math.abs,
  floor: Math.floor,
  ceiling: Math.ceil,
  ceil: Math.ceil,
  mod: (a, b) => a - b * Math.floor(a / b),
  pow: (a, b) => a ** b,
};

const LIBRARY_FILES = new Set(['qelib1.inc', 'stdgates.inc']);

class Elaborator {
  private readonly qubitRegisters = new Map<string, Register>();
  private readonly bitRegisters = new Map<string, Register>();
  private readonly classicalRegisters: ClassicalRegister[] = [];
  private readonly gates = new Map<string, GateDefinition>();
  /** Upper bounds of the primitives one application of each defined gate unrolls to, where known. */
  private readonly gateCosts = new Map<string, number>();
  private readonly scopes: Map<string, Variable>[] = [new Map<string, Variable>()];
  private readonly pragmas: string[] = [];
  private numQubits = 0;
  private numClbits = 0;
  private usesPhysical = false;
  private primitiveCount = 0;
  private loopIterations = 0;
  private runtimeDepth = 0;
  private gateDepth = 0;

  constructor(
    private readonly source: string,
    private readonly program: StatementStream,
    private readonly limits: CircuitLimits,
    private readonly inputs: Readonly<Record<string, number>>,
  ) {}

  run(libraryDefinitions: Program, sink: OperationSink): CircuitHeader {
    for (const statement of libraryDefinitions.statements) {
      if (statement.kind === 'gateDef') this.defineGate(statement);
    }
    const program = this.program;
    for (let statement = program.next(); statement; statement = program.next()) this.statement(statement, sink);
    return {
      format: this.program.version === 2 ? 'qasm2' : 'qasm3',
      numQubits: this.numQubits,
      numClbits: this.numClbits,
      classicalRegisters: this.classicalRegisters,
      pragmas: this.pragmas,
      primitiveCount: this.primitiveCount,
    };
  }

  // ---- errors -------------------------------------------------------------------------

  private fail(at: SourcePosition, message: string): never {
    throw new QasmSyntaxError(this.source, at, message);
  }

  private unsupported(at: SourcePosition, feature: string, detail: string): never {
    throw new QasmUnsupportedError(this.source, at, feature, detail);
  }

  // ---- statements ---------------------------------------------------------------------

  private statements(statements: readonly Statement[], out: OperationSink): void {
    for (const statement of statements) this.statement(statement, out);
  }

  private block(statements: readonly Statement[], out: OperationSink): void {
    this.scopes.push(new Map());
    try {
      this.statements(statements, out);
    } finally {
      this.scopes.pop();
    }
  }

  private statement(statement: Statement | SimpleGateCall, out: OperationSink): void {
    switch (statement.kind) {
      case 'simpleGate':
        return this.applySimpleGate(statement, out);
      case 'include':
        if (!LIBRARY_FILES.has(statement.path)) {
          this.unsupported(
            statement.at,
            'include',
            `"${statement.path}" is not available; only qelib1.inc and stdgates.inc are built in, so paste the file's gates into the program`,
          );
        }
        return;
      case 'pragma':
        this.pragmas.push(statement.text);
        return;
      case 'qubitDecl':
        return this.declareQubits(statement.name, statement.size, statement.at);
      case 'bitDecl':
        if (statement.init)
          this.unsupported(statement.init.at, 'bit initialiser', 'bits start at 0; set them by measurement');
        return this.declareBits(statement.name, statement.size, statement.at);
      case 'classicalDecl':
        return this.declareClassical(statement);
      case 'gateDef':
        if (this.scopes.length > 1) this.fail(statement.at, 'gates can only be defined at the top level');
        this.defineGate(statement);
        return;
      case 'gateCall':
        return this.applyGateCall(statement, out);
      case 'measure':
        return this.measure(statement.qubits, statement.target, statement.at, out);
      case 'reset':
        for (const qubit of this.qubits(statement.qubits)) out.push({ kind: 'reset', qubit });
        return;
      case 'barrier': {
        const qubits =
          statement.operands.length === 0
            ? Array.from({ length: this.numQubits }, (_, i) => i)
            : statement.operands.flatMap((operand) => this.qubits(operand));
        out.push({ kind: 'barrier', qubits });
        return;
      }
      case 'if':
        return this.conditional(statement, out);
      case 'for':
        return this.loop(statement, (body) => this.block(body, out));
      case 'assign':
        return this.assign(statement.target, statement.op, statement.value, statement.at);
    }
  }

  private declareQubits(name: string, sizeExpr: Expr | undefined, at: SourcePosition): void {
    if (this.scopes.length > 1) this.fail(at, 'qubits can only be declared at the top level');
    if (this.usesPhysical) this.fail(at, 'a program cannot mix physical qubits ($n) with declared qubits');
    this.checkNewName(name, at);
    const size = sizeExpr ? this.positiveInteger(sizeExpr, 'register size') : 1;
    if (this.numQubits + size > this.limits.maxQubits) {
      throw new QasmLimitError(
        'maxQubits',
        `the circuit declares ${this.numQubits + size} qubits; the limit is ${this.limits.maxQubits}`,
        this.source,
        at,
      );
    }
    this.qubitRegisters.set(name, { offset: this.numQubits, size });
    this.numQubits += size;
  }

  private declareBits(name: string, sizeExpr: Expr | undefined, at: SourcePosition): void {
    if (this.scopes.length > 1) this.fail(at, 'bits can only be declared at the top level here');
    this.checkNewName(name, at);
    const size = sizeExpr ? this.positiveInteger(sizeExpr, 'register size') : 1;
    if (size > this.limits.maxClbits - this.numClbits) {
      throw new QasmLimitError(
        'maxClbits',
        `the circuit declares ${this.numClbits + size} classical bits; the limit is ${this.limits.maxClbits}`,
        this.source,
        at,
      );
    }
    const register = { offset: this.numClbits, size };
    this.bitRegisters.set(name, register);
    this.classicalRegisters.push({ name, ...register });
    this.numClbits += size;
  }

  private defineGate(definition: GateDefinition): void {
    const cost = definition.body
      ? definitionCost(definition.body, (name) =>
          this.gates.has(name) ? this.gateCosts.get(name) : builtinGate(name) ? 1 : undefined,
        )
      : undefined;
    this.gates.set(definition.name, definition);
    if (cost === undefined) this.gateCosts.delete(definition.name);
    else this.gateCosts.set(definition.name, cost);
  }

  private checkNewName(name: string, at: SourcePosition): void {
    if (this.qubitRegisters.has(name) || this.bitRegisters.has(name) || this.scopes.at(-1)?.has(name)) {
      this.fail(at, `"${name}" is already declared`);
    }
  }

  private declareClassical(statement: Extract<Statement, { kind: 'classicalDecl' }>): void {
    const { name, type, at } = statement;
    this.checkNewName(name, at);
    let value: number | boolean;
    if (statement.isInput) {
      const given = this.inputs[name];
      if (given === undefined) {
        this.fail(at, `input parameter "${name}" has no value; pass it as an input (for example --input ${name}=0.5)`);
      }
      value = given;
    } else if (statement.init) {
      value = this.known(this.evaluate(statement.init), statement.init.at, `the value of "${name}"`);
    } else {
      value = type.name === 'bool' ? false : 0;
    }
    this.scopes
      .at(-1)
      ?.set(name, { value: this.coerce(type.name, value), type: type.name, isConst: statement.isConst });
  }

  private coerce(type: string, value: number | boolean): number | boolean {
    if (type === 'bool') return Boolean(value);
    const number = Number(value);
    return type === 'int' || type === 'uint' || type === 'bit' ? Math.trunc(number) : number;
  }

  private lookup(name: string): Variable | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const variable = this.scopes[i]?.get(name);
      if (variable) return variable;
    }
    return undefined;
  }

  private assign(target: Operand, op: string, valueExpr: Expr, at: SourcePosition): void {
    if (target.kind !== 'register' || target.index) {
      this.unsupported(at, 'classical assignment', 'only whole classical variables can be assigned');
    }
    if (this.bitRegisters.has(target.name)) {
      this.unsupported(at, 'classical computation on bits', 'bits can only be written by measurement');
    }
    const variable = this.lookup(target.name);
    if (!variable) this.fail(at, `unknown variable "${target.name}"`);
    if (variable.isConst) this.fail(at, `"${target.name}" is const and cannot be assigned`);
    if (this.runtimeDepth > 0) {
      this.unsupported(
        at,
        'classical computation on measured values',
        'assignments inside an if on measured bits are not supported',
      );
    }
    const value = this.known(this.evaluate(valueExpr), valueExpr.at, `the value assigned to "${target.name}"`);
    const result = op === '=' ? value : this.binaryValue(op.slice(0, -1), variable.value, value, at);
    variable.value = this.coerce(variable.type, this.known(result, at, 'the assignment'));
  }

  private conditional(statement: Extract<Statement, { kind: 'if' }>, out: OperationSink): void {
    const condition = this.evaluate(statement.condition);
    if (!(condition instanceof Runtime)) {
      const branch = condition ? statement.then : statement.otherwise;
      if (branch) this.block(branch, out);
      return;
    }
    const then: Operation[] = [];
    const otherwise: Operation[] = [];
    this.runtimeDepth++;
    try {
      this.block(statement.then, then);
      if (statement.otherwise) this.block(statement.otherwise, otherwise);
    } finally {
      this.runtimeDepth--;
    }
    out.push({ kind: 'if', condition: condition.expr, then, otherwise });
  }

  private loop(statement: Extract<Statement, { kind: 'for' }>, run: (body: readonly Statement[]) => void): void {
    const values: number[] = [];
    if (statement.range) {
      const { start, step, end } = statement.range;
      if (!start || !end) this.fail(statement.at, 'a loop range needs a start and an end, like [0:3]');
      const from = this.integer(start, 'loop start');
      const by = step ? this.integer(step, 'loop step') : 1;
      const to = this.integer(end, 'loop end');
      if (by === 0) this.fail(step?.at ?? statement.at, 'a loop step cannot be 0');
      // OpenQASM 3 ranges include their end.
      for (let i = from; by > 0 ? i <= to : i >= to; i += by) {
        values.push(i);
        this.countIteration(statement.at);
      }
    } else {
      for (const item of statement.set ?? []) {
        values.push(this.integer(item, 'loop value'));
        this.countIteration(statement.at);
      }
    }
    for (const value of values) {
      this.scopes.push(new Map([[statement.variable, { value, type: 'int', isConst: true }]]));
      try {
        run(statement.body);
      } finally {
        this.scopes.pop();
      }
    }
  }

  private countIteration(at: SourcePosition): void {
    if (++this.loopIterations > this.limits.maxLoopIterations) {
      throw new QasmLimitError(
        'maxLoopIterations',
        `loops run more than ${this.limits.maxLoopIterations} iterations in total`,
        this.source,
        at,
      );
    }
  }

  private measure(qubitsOperand: Operand, target: Operand | undefined, at: SourcePosition, out: OperationSink): void {
    const qubits = this.qubits(qubitsOperand);
    if (!target) {
      for (const qubit of qubits) out.push({ kind: 'measure', qubit, clbit: -1 });
      return;
    }
    const clbits = this.bits(target);
    if (clbits.length !== qubits.length) {
      this.fail(at, `measure maps ${qubits.length} qubits onto ${clbits.length} bits; the sizes must match`);
    }
    qubits.forEach((qubit, i) => out.push({ kind: 'measure', qubit, clbit: clbits[i] as number }));
  }

  // ---- gates --------------------------------------------------------------------------

  private applyGateCall(call: GateCall, out: OperationSink): void {
    const params =
      call.params.length === 0 ? NO_PARAMS : call.params.map((p) => this.number(p, `a parameter of ${call.name}`));
    const lists = call.operands.map((operand) => this.qubits(operand));
    let width = 1;
    for (const list of lists) if (list.length > width) width = list.length;
    for (const list of lists) {
      if (list.length !== 1 && list.length !== width) {
        this.fail(call.at, `registers of different sizes (${list.length} and ${width}) cannot be broadcast together`);
      }
    }
    // The common case, a standard gate without modifiers, becomes one light operation whose
    // primitive (and matrix) is built only if a simulator asks for it.
    const builtin = call.modifiers.length === 0 && !this.gates.has(call.name) ? builtinGate(call.name) : undefined;
    for (let i = 0; i < width; i++) {
      const qubits =
        width === 1
          ? lists.map((list) => list[0] as number)
          : lists.map((list) => (list.length === 1 ? list[0] : list[i]) as number);
      let operation: GateOperation;
      if (builtin) {
        this.checkBuiltinCall(call, builtin, params.length, qubits);
        this.checkGateCount((this.primitiveCount += 1), call.at);
        operation = new GateOperation(call.name, params, qubits, builtin, undefined);
      } else {
        const parts: Primitive[] = [];
        this.expandCall(call, params, qubits, parts);
        this.checkGateCount((this.primitiveCount += parts.length), call.at);
        operation = new GateOperation(call.name, params, qubits, undefined, parts);
      }
      out.push(operation);
    }
  }

  /**
   * A statement the fast path read: a standard gate on single register qubits becomes its
   * operation here; anything else, including every error, goes through the general path.
   */
  private applySimpleGate(call: SimpleGateCall, out: OperationSink): void {
    const operation = this.simpleOperation(call);
    if (!operation) {
      this.statement(parseStatementAt(this.source, call), out);
      return;
    }
    this.checkGateCount(++this.primitiveCount, call.at);
    out.push(operation);
  }

  private simpleOperation(call: SimpleGateCall): GateOperation | undefined {
    if (this.gates.has(call.name)) return undefined;
    if (call.usesPi && (this.lookup('pi') || this.bitRegisters.has('pi'))) return undefined;
    const builtin = builtinGate(call.name);
    const count = call.registers.length;
    if (!builtin || builtin.params !== call.params.length || builtin.controls + builtin.targets !== count) {
      return undefined;
    }
    const qubits: number[] = new Array<number>(count);
    for (let i = 0; i < count; i++) {
      const register = this.qubitRegisters.get(call.registers[i] as string);
      const index = call.indices[i] as number;
      if (!register || index >= register.size) return undefined;
      const qubit = register.offset + index;
      for (let j = 0; j < i; j++) if (qubits[j] === qubit) return undefined;
      qubits[i] = qubit;
    }
    return new GateOperation(call.name, call.params, qubits, builtin, undefined);
  }

  /** Fails once `count` primitive gates exceed the limit. */
  private checkGateCount(count: number, at: SourcePosition): void {
    if (count > this.limits.maxGates) {
      throw new QasmLimitError(
        'maxGates',
        `the circuit unrolls to more than ${this.limits.maxGates} gates`,
        this.source,
        at,
      );
    }
  }

  private checkBuiltinCall(call: GateCall, builtin: BuiltinGate, paramCount: number, qubits: readonly number[]): void {
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
  private expandCall(call: GateCall, params: readonly number[], qubits: readonly number[], out: Primitive[]): void {
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

  private raise(parts: Primitive[], exponent: number, at: SourcePosition): Primitive[] {
    if (parts.length === 1) {
      const part = parts[0] as Primitive;
      const matrix = power(part.matrix, exponent);
      if (!matrix)
        this.unsupported(at, 'pow', `a fractional power of a ${part.targets.length}-qubit gate is not supported`);
      return [derive(part, { name: `pow(${exponent}, ${part.name})`, matrix })];
    }
    if (!Number.isInteger(exponent)) {
      this.unsupported(at, 'pow', 'a fractional power of a gate defined by a body is not supported');
    }
    const base = exponent < 0 ? [...parts].reverse().map((p) => derive(p, { matrix: adjoint(p.matrix) })) : parts;
    const result: Primitive[] = [];
    for (let i = 0; i < Math.abs(exponent); i++) for (const part of base) result.push(part);
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

  private context: GateContext | undefined;

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

  // ---- operands -----------------------------------------------------------------------

  private qubits(operand: Operand): number[] {
    if (operand.kind === 'physical') {
      if (this.context) this.fail(operand.at, 'a gate body cannot use physical qubits');
      if (this.qubitRegisters.size > 0)
        this.fail(operand.at, 'a program cannot mix physical qubits ($n) with declared qubits');
      if (operand.index + 1 > this.limits.maxQubits) {
        throw new QasmLimitError(
          'maxQubits',
          `physical qubit $${operand.index} exceeds the limit of ${this.limits.maxQubits} qubits`,
          this.source,
          operand.at,
        );
      }
      this.usesPhysical = true;
      this.numQubits = Math.max(this.numQubits, operand.index + 1);
      return [operand.index];
    }
    const argument = this.context?.qubits.get(operand.name);
    if (argument !== undefined) {
      if (operand.index)
        this.fail(operand.at, `gate argument "${operand.name}" is a single qubit and cannot be indexed`);
      return [argument];
    }
    const register = this.qubitRegisters.get(operand.name);
    if (!register) {
      if (this.bitRegisters.has(operand.name)) this.fail(operand.at, `"${operand.name}" is a bit register, not qubits`);
      this.fail(operand.at, `unknown qubit register "${operand.name}"`);
    }
    return this.select(register, operand, 'qubit');
  }

  private bits(operand: Operand): number[] {
    if (operand.kind === 'physical') this.fail(operand.at, 'expected bits, not a physical qubit');
    const register = this.bitRegisters.get(operand.name);
    if (!register) {
      if (this.qubitRegisters.has(operand.name))
        this.fail(operand.at, `"${operand.name}" is a qubit register, not bits`);
      if (this.lookup(operand.name)) {
        this.unsupported(
          operand.at,
          'measurement into a non-bit variable',
          `measure into a bit register, not "${operand.name}"`,
        );
      }
      this.fail(operand.at, `unknown bit register "${operand.name}"`);
    }
    return this.select(register, operand, 'bit');
  }

  private select(register: Register, operand: Operand & { kind: 'register' }, what: string): number[] {
    const only = operand.index?.length === 1 ? operand.index[0] : undefined;
    if (only?.kind === 'single') {
      // The common case, q[3], without building the register's index list.
      const i = this.integer(only.expr, 'an index');
      if (i >= 0 && i < register.size) return [register.offset + i];
    }
    let indices = Array.from({ length: register.size }, (_, i) => i);
    for (const item of operand.index ?? []) indices = this.applyIndex(indices, item, operand, what);
    return indices.map((i) => register.offset + i);
  }

  private applyIndex(
    indices: number[],
    item: IndexItem,
    operand: Operand & { kind: 'register' },
    what: string,
  ): number[] {
    const pick = (expr: Expr): number => {
      let i = this.integer(expr, 'an index');
      if (i < 0) i += indices.length;
      if (i < 0 || i >= indices.length) {
        this.fail(
          expr.at,
          `index ${this.integer(expr, 'an index')} is out of range for ${what} register "${operand.name}" of size ${indices.length}`,
        );
      }
      return indices[i] as number;
    };
    switch (item.kind) {
      case 'single':
        return [pick(item.expr)];
      case 'set':
        return item.items.map(pick);
      case 'range': {
        const start = item.start ? this.integer(item.start, 'a range start') : 0;
        const step = item.step ? this.integer(item.step, 'a range step') : 1;
        const end = item.end ? this.integer(item.end, 'a range end') : indices.length - 1;
        if (step === 0) this.fail(operand.at, 'a range step cannot be 0');
        const out: number[] = [];
        for (let i = start; step > 0 ? i <= end : i >= end; i += step) {
          if (i < 0 || i >= indices.length) {
            this.fail(
              operand.at,
              `range reaches index ${i}, out of range for ${what} register "${operand.name}" of size ${indices.length}`,
            );
          }
          out.push(indices[i] as number);
        }
        return out;
      }
    }
  }

  // ---- expressions --------------------------------------------------------------------

  private known(value: Value, at: SourcePosition, what: string): number | boolean {
    if (value instanceof Runtime) {
      this.unsupported(
        at,
        'classical computation on measured values',
        `${what} depends on measured bits, which is only allowed in if conditions`,
      );
    }
    return value;
  }

  private number(expr: Expr, what: string): number {
    const value = this.known(this.evaluate(expr), expr.at, what);
    const number = Number(value);
    if (!Number.isFinite(number)) this.fail(expr.at, `${what} is not a finite number`);
    return number;
  }

  private integer(expr: Expr, what: string): number {
    const number = this.number(expr, what);
    if (!Number.isInteger(number)) this.fail(expr.at, `${what} must be a whole number (got ${number})`);
    return number;
  }

  private positiveInteger(expr: Expr, what: string): number {
    const number = this.integer(expr, what);
    if (number < 1) this.fail(expr.at, `${what} must be at least 1 (got ${number})`);
    return number;
  }

  private evaluate(expr: Expr): Value {
    switch (expr.kind) {
      case 'number':
      case 'bool':
        return expr.value;
      case 'ident':
        return this.identifierValue(expr.name, expr.at);
      case 'index':
        return this.indexValue(expr);
      case 'unary': {
        const operand = this.evaluate(expr.operand);
        if (operand instanceof Runtime) return new Runtime({ kind: 'unary', op: expr.op, operand: operand.expr });
        if (expr.op === '-') return -Number(operand);
        if (expr.op === '!') return !operand;
        return ~Number(operand);
      }
      case 'binary': {
        const left = this.evaluate(expr.left);
        const right = this.evaluate(expr.right);
        if (left instanceof Runtime || right instanceof Runtime) {
          return new Runtime({ kind: 'binary', op: expr.op, left: toClassical(left), right: toClassical(right) });
        }
        return this.binaryValue(expr.op, left, right, expr.at);
      }
      case 'call': {
        const fn = Object.hasOwn(FUNCTIONS, expr.name) ? FUNCTIONS[expr.name] : undefined;
        if (!fn) this.fail(expr.at, `unknown function "${expr.name}"`);
        const args = expr.args.map((a) => this.number(a, `an argument of ${expr.name}`));
        return fn(...args);
      }
      case 'cast': {
        const value = this.evaluate(expr.arg);
        if (value instanceof Runtime) {
          return expr.type.name === 'bool'
            ? new Runtime({ kind: 'binary', op: '!=', left: value.expr, right: { kind: 'const', value: 0 } })
            : value;
        }
        return this.coerce(expr.type.name, value);
      }
    }
  }

  private identifierValue(name: string, at: SourcePosition): Value {
    const variable = this.lookup(name);
    if (variable) return variable.value;
    const register = this.bitRegisters.get(name);
    if (register)
      return new Runtime({ kind: 'bits', bits: Array.from({ length: register.size }, (_, i) => register.offset + i) });
    if (Object.hasOwn(CONSTANTS, name)) return CONSTANTS[name] as number;
    if (this.qubitRegisters.has(name)) this.fail(at, `"${name}" is a qubit register and has no classical value`);
    return this.fail(at, `unknown identifier "${name}"`);
  }

  private indexValue(expr: Extract<Expr, { kind: 'index' }>): Value {
    if (expr.target.kind !== 'ident') this.fail(expr.at, 'only named registers and variables can be indexed');
    const name = expr.target.name;
    const register = this.bitRegisters.get(name);
    if (register) {
      const operand: Operand = { kind: 'register', name, index: expr.index, at: expr.at };
      return new Runtime({ kind: 'bits', bits: this.bits(operand) });
    }
    const variable = this.lookup(name);
    if (!variable) return this.fail(expr.at, `unknown identifier "${name}"`);
    const [item] = expr.index;
    if (expr.index.length !== 1 || item?.kind !== 'single') this.fail(expr.at, 'a classical value takes one bit index');
    const bit = this.integer(item.expr, 'a bit index');
    return Math.floor(Number(variable.value) / 2 ** bit) % 2;
  }

  private binaryValue(
    op: string,
    left: number | boolean,
    right: number | boolean,
    at: SourcePosition,
  ): number | boolean {
    const b = Number(right);
    if (op === '/' && b === 0) this.fail(at, 'division by zero');
    const result = applyBinary(op, Number(left), b);
    return result === undefined ? this.fail(at, `unknown operator "${op}"`) : result;
  }
}

function toClassical(value: Value): ClassicalExpr {
  return value instanceof Runtime ? value.expr : { kind: 'const', value: Number(value) };
}

/** Where the elaborator puts top-level operations, in program order (an array will do). */
export interface OperationSink {
  push(op: Operation): unknown;
}

/** A circuit's facts other than its operations. */
export type CircuitHeader = Omit<Circuit, 'operations'>;

/** Unrolls a parsed program under the given limits, handing each operation to `sink`. */
export function elaborate(
  source: string,
  program: StatementStream,
  library: Program,
  limits: CircuitLimits,
  sink: OperationSink,
  inputs: Readonly<Record<string, number>> = {},
): CircuitHeader {
  return new Elaborator(source, program, limits, inputs).run(library, sink);
}
