/**
 * Classical expressions of the elaborator: constants fold as the program unrolls; a value
 * that depends on measured bits stays symbolic (Runtime), allowed only in if conditions.
 */
import type { Expr, Operand } from './ast.ts';
import type { ClassicalExpr } from './circuit.ts';
import type { SourcePosition } from './errors.ts';
import { applyBinary } from './operators.ts';
import { ElaborationScope } from './elaboration-scope.ts';

/** A value known only at run time (it depends on measured bits). */
export class Runtime {
  constructor(readonly expr: ClassicalExpr) {}
}
export type Value = number | boolean | Runtime;

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

/** The expressions' part of the elaborator. */
export abstract class ExpressionElaborator extends ElaborationScope {
  /** The classical bits an operand names (operands.ts). */
  protected abstract bits(operand: Operand): number[];

  protected known(value: Value, at: SourcePosition, what: string): number | boolean {
    if (value instanceof Runtime) {
      this.unsupported(
        at,
        'classical computation on measured values',
        `${what} depends on measured bits, which is only allowed in if conditions`,
      );
    }
    return value;
  }

  protected number(expr: Expr, what: string): number {
    const value = this.known(this.evaluate(expr), expr.at, what);
    const number = Number(value);
    if (!Number.isFinite(number)) this.fail(expr.at, `${what} is not a finite number`);
    return number;
  }

  protected integer(expr: Expr, what: string): number {
    const number = this.number(expr, what);
    if (!Number.isInteger(number)) this.fail(expr.at, `${what} must be a whole number (got ${number})`);
    return number;
  }

  protected positiveInteger(expr: Expr, what: string): number {
    const number = this.integer(expr, what);
    if (number < 1) this.fail(expr.at, `${what} must be at least 1 (got ${number})`);
    return number;
  }

  protected evaluate(expr: Expr): Value {
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
          return new Runtime({
            kind: 'binary',
            op: expr.op,
            left: toClassical(left, expr.left),
            right: toClassical(right, expr.right),
          });
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

  protected identifierValue(name: string, at: SourcePosition): Value {
    const variable = this.lookup(name);
    if (variable) return variable.value;
    const register = this.bitRegisters.get(name);
    if (register)
      return new Runtime({ kind: 'bits', bits: Array.from({ length: register.size }, (_, i) => register.offset + i) });
    if (Object.hasOwn(CONSTANTS, name)) return CONSTANTS[name] as number;
    if (this.qubitRegisters.has(name)) this.fail(at, `"${name}" is a qubit register and has no classical value`);
    return this.fail(at, `unknown identifier "${name}"`);
  }

  protected indexValue(expr: Extract<Expr, { kind: 'index' }>): Value {
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

  protected binaryValue(
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

/** A value as a classical expression evaluated per shot; a wide integer literal keeps its exact digits. */
export function toClassical(value: Value, source?: Expr): ClassicalExpr {
  if (value instanceof Runtime) return value.expr;
  const exact = source?.kind === 'number' ? source.exact : undefined;
  return { kind: 'const', value: Number(value), ...(exact === undefined ? {} : { exact }) };
}
