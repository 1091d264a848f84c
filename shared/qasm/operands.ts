/** Operands: the qubits and bits a register, an index, a range or a physical qubit names. */
import type { Expr, IndexItem, Operand } from './ast.ts';
import { QasmLimitError } from './errors.ts';
import type { Register } from './elaboration-scope.ts';
import { ExpressionElaborator } from './expressions.ts';

/** The operands' part of the elaborator. */
export abstract class OperandElaborator extends ExpressionElaborator {
  protected qubits(operand: Operand): number[] {
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

  protected bits(operand: Operand): number[] {
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

  protected select(register: Register, operand: Operand & { kind: 'register' }, what: string): number[] {
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

  protected applyIndex(
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
}
