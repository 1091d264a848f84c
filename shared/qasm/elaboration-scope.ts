/**
 * The elaborator's scope: registers and classical variables as a program declares them,
 * nested frames for blocks, loops and gate bodies, and errors that point into the source.
 * The elaboration is one walker split by concern into a chain of classes (scope,
 * expressions, operands, gate expansion, statements) so the hot path stays one object.
 */
import type { Statement } from './ast.ts';
import type { ClassicalRegister, Primitive } from './circuit.ts';
import { QasmSyntaxError, QasmUnsupportedError, type SourcePosition } from './errors.ts';
import type { CircuitLimits } from './limits.ts';

/** A classical variable (loop variables and gate parameters are const). */
export interface Variable {
  value: number | boolean;
  readonly type: string;
  readonly isConst: boolean;
}

/** A gate a program (or the standard library) defines. */
export interface GateDefinition {
  readonly name: string;
  readonly params: readonly string[];
  readonly qubits: readonly string[];
  readonly body: readonly Statement[] | undefined;
}

/** A register's place among the circuit's qubits or bits. */
export interface Register {
  readonly offset: number;
  readonly size: number;
}

/** Where names of gate arguments point while a definition's body is expanded. */
export interface GateContext {
  readonly qubits: ReadonlyMap<string, number>;
  readonly out: Primitive[];
}

/** What is declared where, and how to report a problem at a place in the source. */
export abstract class ElaborationScope {
  protected readonly qubitRegisters = new Map<string, Register>();
  protected readonly bitRegisters = new Map<string, Register>();
  protected readonly classicalRegisters: ClassicalRegister[] = [];
  protected readonly scopes: Map<string, Variable>[] = [new Map<string, Variable>()];
  protected numQubits = 0;
  protected numClbits = 0;
  protected usesPhysical = false;
  /** Set while a gate definition's body is expanded. */
  protected context: GateContext | undefined;

  constructor(
    protected readonly source: string,
    protected readonly limits: CircuitLimits,
  ) {}

  protected fail(at: SourcePosition, message: string): never {
    throw new QasmSyntaxError(this.source, at, message);
  }

  protected unsupported(at: SourcePosition, feature: string, detail: string): never {
    throw new QasmUnsupportedError(this.source, at, feature, detail);
  }

  protected checkNewName(name: string, at: SourcePosition): void {
    if (this.qubitRegisters.has(name) || this.bitRegisters.has(name) || this.scopes.at(-1)?.has(name)) {
      this.fail(at, `"${name}" is already declared`);
    }
  }

  protected coerce(type: string, value: number | boolean): number | boolean {
    if (type === 'bool') return Boolean(value);
    const number = Number(value);
    return type === 'int' || type === 'uint' || type === 'bit' ? Math.trunc(number) : number;
  }

  protected lookup(name: string): Variable | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const variable = this.scopes[i]?.get(name);
      if (variable) return variable;
    }
    return undefined;
  }
}
