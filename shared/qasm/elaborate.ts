/**
 * Unrolls a parsed program into a flat circuit: loops run, constants fold, gate
 * definitions and modifiers expand into primitive unitaries, registers broadcast. Only
 * conditions on measured bits stay symbolic (as `if` operations the simulator evaluates
 * per shot). Its parts: elaboration-scope.ts (declarations), expressions.ts, operands.ts,
 * gate-expansion.ts; this file walks the statements.
 */
import type { Expr, GateCall, Operand, Program, SimpleGateCall, Statement } from './ast.ts';
import { parseStatementAt, type StatementStream } from './parser.ts';
import type { Circuit, Operation, Primitive } from './circuit.ts';
import { QasmLimitError, type SourcePosition } from './errors.ts';
import { builtinGate } from './gates.ts';
import type { CircuitLimits } from './limits.ts';
import { Runtime } from './expressions.ts';
import { GateElaborator, GateOperation, NO_PARAMS } from './gate-expansion.ts';

const LIBRARY_FILES = new Set(['qelib1.inc', 'stdgates.inc']);

class Elaborator extends GateElaborator {
  private readonly pragmas: string[] = [];
  private loopIterations = 0;
  private runtimeDepth = 0;

  constructor(
    source: string,
    private readonly program: StatementStream,
    limits: CircuitLimits,
    private readonly inputs: Readonly<Record<string, number>>,
  ) {
    super(source, limits);
  }

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
      case 'reset': {
        const qubits = this.qubits(statement.qubits);
        this.chargeOperations(qubits.length, statement.at);
        for (const qubit of qubits) out.push({ kind: 'reset', qubit });
        return;
      }
      case 'barrier': {
        if (statement.operands.length === 0) this.chargeOperations(this.numQubits, statement.at);
        const qubits =
          statement.operands.length === 0
            ? Array.from({ length: this.numQubits }, (_, i) => i)
            : statement.operands.flatMap((operand) => this.qubits(operand));
        if (statement.operands.length > 0) this.chargeOperations(qubits.length, statement.at);
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
    this.chargeOperations(1, statement.at);
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

  protected loop(statement: Extract<Statement, { kind: 'for' }>, run: (body: readonly Statement[]) => void): void {
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

  private operationCount = 0;

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

  /** Counts measurements, resets, barriers and conditionals (per qubit) before they are made. */
  private chargeOperations(units: number, at: SourcePosition): void {
    this.operationCount += units;
    if (this.operationCount > this.limits.maxOperations) {
      throw new QasmLimitError(
        'maxOperations',
        `the circuit unrolls to more than ${this.limits.maxOperations} measurements, resets, barriers and conditionals (counted per qubit)`,
        this.source,
        at,
      );
    }
  }

  private measure(qubitsOperand: Operand, target: Operand | undefined, at: SourcePosition, out: OperationSink): void {
    const qubits = this.qubits(qubitsOperand);
    this.chargeOperations(qubits.length, at);
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
